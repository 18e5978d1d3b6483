// Images in the store as image/ Image views (lazy: layers are opened only when read).
import { KilnError } from '../errors.js';
import {
  hostPlatform, imageFromRaw, layerFromOpener, parseConfig, parseManifest, selectPlatform,
  type Decompressor, type Descriptor, type Image, type Platform,
} from '../image/index.js';
import type { Store } from './store.js';

export interface LoadOptions {
  /** For indexes: which platform (default: the host's). */
  readonly platform?: Platform;
  /** Needed only to read layers uncompressed (wired by cli/ to layer/'s decompressors). */
  readonly decompress?: Decompressor;
}

/** Resolves a name (or a manifest/index descriptor) to the manifest descriptor for one platform. */
export async function resolveManifest(store: Store, ref: string | Descriptor, platform: Platform = hostPlatform()): Promise<Descriptor> {
  let desc = typeof ref === 'string' ? store.resolve(ref) : ref;
  for (let depth = 0; depth < 4; depth++) {
    const parsed = parseManifest(await store.readBytes(desc.digest), desc.mediaType);
    if (parsed.kind === 'manifest') return { ...desc, mediaType: parsed.mediaType };
    desc = selectPlatform(parsed.index.manifests, platform);
  }
  throw new KilnError('IMAGE_INVALID', 'indexes nested too deeply');
}

/** The Image a name (or descriptor) denotes in the store. */
export async function loadImage(store: Store, ref: string | Descriptor, opts: LoadOptions = {}): Promise<Image> {
  const desc = await resolveManifest(store, ref, opts.platform);
  const rawManifest = await store.readBytes(desc.digest);
  const parsed = parseManifest(rawManifest, desc.mediaType);
  if (parsed.kind !== 'manifest') throw new KilnError('INTERNAL', 'resolveManifest returned an index');
  const rawConfig = await store.readBytes(parsed.manifest.config.digest);
  const config = parseConfig(rawConfig);
  const layers = parsed.manifest.layers.map((l, i) => {
    const diffId = config.rootfs.diff_ids[i];
    return layerFromOpener({
      mediaType: l.mediaType,
      open: (signal) => store.open(l.digest, signal),
      openerVerifies: true, // the store verifies every read against the digest
      digest: l.digest,
      size: l.size,
      ...(diffId ? { diffId } : {}),
      ...(opts.decompress ? { decompress: opts.decompress } : {}),
    });
  });
  return imageFromRaw(rawManifest, rawConfig, layers);
}

/** Writes an image's blobs (layers, config, then manifest) into the store; returns its descriptor. */
export async function writeImage(store: Store, image: Image, signal?: AbortSignal): Promise<Descriptor> {
  const manifest = await image.manifest();
  const layers = await image.layers();
  for (let i = 0; i < layers.length; i++) {
    const want = manifest.layers[i]!;
    if (store.blobs.touch(want.digest)) continue; // already stored (and now young for gc's grace)
    await store.ingest(await layers[i]!.compressed(signal), { digest: want.digest, size: want.size }, signal);
  }
  await store.ingestBytes(await image.rawConfig(), { digest: manifest.config.digest, size: manifest.config.size });
  const raw = await image.rawManifest();
  const r = await store.ingestBytes(raw, { digest: await image.digest(), size: raw.length });
  return { mediaType: manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json', digest: r.digest, size: r.size };
}
