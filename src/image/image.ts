// Images as read-only views (GGCR v1.Image). Two kinds: one over stored/pulled raw bytes, and one
// computed from parts (config + layers), which is what mutate.ts returns. Neither does I/O itself.
import { KilnError } from '../errors.js';
import { buildConfig, buildManifest, canonicalJson, type ManifestFormat } from './canonical.js';
import { sha256, type Digest } from './digest.js';
import { MediaType } from './media-types.js';
import { memo, type Layer } from './layer.js';
import { parseConfig, parseManifest } from './parse.js';
import type { History, ImageConfig, Manifest } from './types.js';

export interface Image {
  manifest(): Promise<Manifest>;
  rawManifest(): Promise<Buffer>;
  /** Digest of rawManifest(). */
  digest(): Promise<Digest>;
  config(): Promise<ImageConfig>;
  rawConfig(): Promise<Buffer>;
  layers(): Promise<readonly Layer[]>;
}

/** OCI or Docker, from a manifest's media type. */
export function manifestFormat(m: Manifest): ManifestFormat {
  return m.mediaType === MediaType.DockerManifest ? 'docker' : 'oci';
}

/**
 * An image over existing bytes: the manifest and config are kept byte for byte (so the digest is
 * the one the registry or store knows). `layers` are in manifest order.
 */
export function imageFromRaw(rawManifest: Uint8Array, rawConfig: Uint8Array, layers: readonly Layer[]): Image {
  const rm = Buffer.from(rawManifest);
  const rc = Buffer.from(rawConfig);
  const parsed = parseManifest(rm);
  if (parsed.kind !== 'manifest') throw new KilnError('IMAGE_INVALID', 'expected an image manifest, got an index');
  const manifest = parsed.manifest;
  const config = memo(async () => parseConfig(rc));
  const digest = sha256(rm);
  return {
    manifest: () => Promise.resolve(manifest),
    rawManifest: () => Promise.resolve(rm),
    digest: () => Promise.resolve(digest),
    config,
    rawConfig: () => Promise.resolve(rc),
    layers: () => Promise.resolve(layers),
  };
}

export interface ImageParts {
  readonly format: ManifestFormat;
  /** rootfs.diff_ids is recomputed from the layers; everything else is kept. */
  readonly config: Omit<ImageConfig, 'rootfs'> & { readonly rootfs?: ImageConfig['rootfs'] };
  readonly layers: readonly Layer[];
  readonly annotations?: Readonly<Record<string, string>>;
}

/** An image computed from parts; manifest and config are serialised canonically, once, on demand. */
export function imageFromParts(p: ImageParts): Image {
  const layers = [...p.layers];
  const config = memo(async (): Promise<ImageConfig> => {
    const diffIds: Digest[] = [];
    for (const l of layers) diffIds.push(await l.diffId());
    return buildConfig({ ...p.config, rootfs: { type: 'layers', diff_ids: diffIds } } as ImageConfig);
  });
  const rawConfig = memo(async () => canonicalJson(await config()));
  const manifest = memo(async (): Promise<Manifest> => {
    const rc = await rawConfig();
    const descs = [];
    for (const l of layers) descs.push({ mediaType: l.mediaType, digest: await l.digest(), size: await l.size() });
    return buildManifest({
      format: p.format,
      config: {
        mediaType: p.format === 'oci' ? MediaType.OciConfig : MediaType.DockerConfig,
        digest: sha256(rc),
        size: rc.length,
      },
      layers: descs,
      ...(p.annotations ? { annotations: p.annotations } : {}),
    });
  });
  const rawManifest = memo(async () => canonicalJson(await manifest()));
  return {
    manifest,
    rawManifest,
    digest: memo(async () => sha256(await rawManifest())),
    config,
    rawConfig,
    layers: () => Promise.resolve(layers),
  };
}

/** An image with no layers (FROM scratch). */
export function emptyImage(opts: {
  readonly format?: ManifestFormat;
  readonly os?: string;
  readonly architecture: string;
  readonly variant?: string;
  readonly history?: readonly History[];
}): Image {
  return imageFromParts({
    format: opts.format ?? 'oci',
    config: {
      architecture: opts.architecture,
      os: opts.os ?? 'linux',
      ...(opts.variant ? { variant: opts.variant } : {}),
      config: {},
      ...(opts.history ? { history: opts.history } : {}),
    },
    layers: [],
  });
}
