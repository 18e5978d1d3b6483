// Loading archives into the store: an OCI image layout directory, an OCI archive (a tar of
// one) or a docker-archive (`docker save`, old <id>/layer.tar and new blobs/ forms). Every blob
// is ingested and verified first; the images are returned for the caller to tag last, so a
// crash at any moment never leaves a name pointing at missing content.
//
// Docker-archive layers are uncompressed tars. They are kept as they are, as OCI
// `application/vnd.oci.image.layer.v1.tar` layers (digest = diff_id), under a new OCI manifest
// that keeps the config bytes (so the image ID is Docker's). This is lossless and needs no
// recompression; `kiln push` sends them uncompressed, as `docker push` of a loaded image would not.
// Compressed layer.tar files (which docker load also accepts) keep their compression.
import { createReadStream, statSync } from 'node:fs';
import { KilnError } from '../errors.js';
import {
  MediaType, buildManifest, canonicalJson, digestAlgorithm, digestHex, hashStream, isIndexMediaType, isManifestMediaType,
  parseConfig, parseManifest, sha256, type Descriptor, type Digest, type Index,
} from '../image/index.js';
import { decompressLayer, layerMediaType } from '../layer/index.js';
import { familiarString, parseNormalizedReference } from '../registry/index.js';
import { REF_NAME, isOptionalLayer, type Store } from '../store/index.js';
import { CONTAINERD_NAME } from './docker.js';
import { dirFiles, tarFiles, type ArchiveFiles } from './sources.js';
import type { Readable } from 'node:stream';

export type ArchiveFormat = 'oci-layout' | 'oci-archive' | 'docker-archive';

export interface LoadedImage {
  /** Names the archive gives the image (may be empty: then only its ID is known). */
  readonly names: readonly string[];
  /** Manifest or index descriptor, its whole required closure stored. */
  readonly desc: Descriptor;
  /** The config digest (Docker's image ID) when desc is a manifest. */
  readonly id?: Digest;
}

export interface ReadResult {
  readonly format: ArchiveFormat;
  readonly images: readonly LoadedImage[];
}

function invalid(msg: string, hint?: string): KilnError {
  return new KilnError('ARCHIVE_INVALID', msg, hint ? { hint } : {});
}

function parseJson(bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (e: unknown) {
    throw invalid(`${what} is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
}

/**
 * Reads an archive into the store and returns its images (untagged). `source` is a path (a
 * directory = OCI layout or extracted docker save; a file = OCI archive or docker-archive,
 * optionally gzip/zstd-compressed) or a stream of such a file.
 */
export async function readArchive(store: Store, source: string | NodeJS.ReadableStream, opts: { signal?: AbortSignal } = {}): Promise<ReadResult> {
  let files: ArchiveFiles;
  if (typeof source === 'string') {
    let st;
    try {
      st = statSync(source);
    } catch (e: unknown) {
      throw new KilnError('IO', `cannot read ${source}: ${(e as Error).message}`, { cause: e });
    }
    files = st.isDirectory() ? dirFiles(store, source) : await tarFiles(store, createReadStream(source), opts.signal);
  } else {
    files = await tarFiles(store, source, opts.signal);
  }
  const manifestJson = await files.small('manifest.json');
  if (manifestJson) return { format: 'docker-archive', images: await readDocker(store, files, manifestJson, opts.signal) };
  const layout = await files.small('oci-layout');
  const indexJson = await files.small('index.json');
  if (layout && indexJson) {
    const v = parseJson(layout, 'oci-layout') as { imageLayoutVersion?: unknown };
    if (typeof v !== 'object' || v === null || typeof v.imageLayoutVersion !== 'string') throw invalid('oci-layout has no imageLayoutVersion');
    return { format: files.kind === 'dir' ? 'oci-layout' : 'oci-archive', images: await readOci(store, files, indexJson, opts.signal) };
  }
  throw invalid(`${typeof source === 'string' ? source : 'the input'} is not an OCI image layout, an OCI archive or a docker-archive (no manifest.json, no oci-layout + index.json)`,
    'give a file written by `kiln save`, `docker save` or `skopeo copy`, or an OCI layout directory');
}

// ---- docker-archive ----

interface DockerItem {
  readonly Config: string;
  readonly RepoTags: readonly string[];
  readonly Layers: readonly string[];
}

function parseDockerManifest(bytes: Buffer): DockerItem[] {
  const v = parseJson(bytes, 'manifest.json');
  if (!Array.isArray(v)) throw invalid('manifest.json is not a JSON array');
  return v.map((x: unknown, i) => {
    const o = x as Record<string, unknown>;
    const at = `manifest.json item ${i}`;
    if (typeof o !== 'object' || o === null) throw invalid(`${at} is not an object`);
    if (typeof o['Config'] !== 'string') throw invalid(`${at}: "Config" must be a string`);
    const tags = o['RepoTags'] ?? [];
    if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) throw invalid(`${at}: "RepoTags" must be an array of strings`);
    const layers = o['Layers'] ?? [];
    if (!Array.isArray(layers) || !layers.every((t) => typeof t === 'string')) throw invalid(`${at}: "Layers" must be an array of strings`);
    return { Config: o['Config'], RepoTags: tags as string[], Layers: layers as string[] };
  });
}

async function readDocker(store: Store, files: ArchiveFiles, manifestJson: Buffer, signal?: AbortSignal): Promise<LoadedImage[]> {
  const out: LoadedImage[] = [];
  for (const item of parseDockerManifest(manifestJson)) {
    const raw = await files.small(item.Config);
    if (!raw) throw invalid(`manifest.json names the config ${item.Config}, which is not in the archive`);
    const config = parseConfig(raw);
    const configDigest = sha256(raw);
    await store.ingestBytes(raw, { digest: configDigest, size: raw.length });
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== item.Layers.length) throw invalid(`${item.Config}: the config lists ${diffIds.length} diff_ids, manifest.json ${item.Layers.length} layers`);
    const layers: Descriptor[] = [];
    for (let i = 0; i < item.Layers.length; i++) {
      const path = item.Layers[i]!;
      const diffId = diffIds[i]!;
      const info = await files.blob(path, undefined, signal);
      if (!info) throw invalid(`manifest.json names the layer ${path}, which is not in the archive`);
      if (info.compression === 'none') {
        if (info.digest !== diffId) {
          throw new KilnError('DIGEST_MISMATCH', `layer ${path} has digest ${info.digest}, but the config's diff_id is ${diffId}`, { hint: 'the archive is corrupt or was modified; export it again' });
        }
      } else {
        const h = await hashStream(await decompressLayer((await store.open(info.digest, signal)) as unknown as Readable));
        if (h.digest !== diffId) {
          throw new KilnError('DIGEST_MISMATCH', `layer ${path} uncompresses to ${h.digest}, but the config's diff_id is ${diffId}`, { hint: 'the archive is corrupt or was modified; export it again' });
        }
      }
      layers.push({ mediaType: info.compression === 'none' ? MediaType.OciLayer : layerMediaType(info.compression), digest: info.digest, size: info.size });
    }
    const manifest = canonicalJson(buildManifest({
      format: 'oci',
      config: { mediaType: MediaType.OciConfig, digest: configDigest, size: raw.length },
      layers,
    }));
    const r = await store.ingestBytes(manifest);
    out.push({ names: [...item.RepoTags], desc: { mediaType: MediaType.OciManifest, digest: r.digest, size: r.size }, id: configDigest });
  }
  return out;
}

// ---- OCI layout / archive ----

function blobPath(d: Digest): string {
  return `blobs/${digestAlgorithm(d)}/${digestHex(d)}`;
}

/** Stores `desc` and its closure from the archive; false when `desc` itself is absent. */
async function ingestClosure(store: Store, files: ArchiveFiles, desc: Descriptor, seen: Set<string>, signal?: AbortSignal): Promise<boolean> {
  if (seen.has(desc.digest)) return true;
  const info = await files.blob(blobPath(desc.digest), { digest: desc.digest, size: desc.size }, signal);
  if (!info) return false;
  seen.add(desc.digest);
  if (!isManifestMediaType(desc.mediaType) && !isIndexMediaType(desc.mediaType)) return true;
  const parsed = parseManifest(await store.readBytes(desc.digest), desc.mediaType);
  if (parsed.kind === 'index') {
    let any = false;
    for (const c of parsed.index.manifests) if (await ingestClosure(store, files, c, seen, signal)) any = true;
    if (!any && parsed.index.manifests.length > 0) throw invalid(`index ${desc.digest}: none of its ${parsed.index.manifests.length} manifests is in the archive`);
    return true;
  }
  const m = parsed.manifest;
  for (const c of [m.config, ...m.layers]) {
    if (!(await ingestClosure(store, files, c, seen, signal)) && !isOptionalLayer(c.mediaType)) {
      throw invalid(`manifest ${desc.digest} needs blob ${c.digest}, which is not in the archive`);
    }
  }
  return true;
}

/** The name an OCI index entry gives its image: containerd's full name, else ref.name if it is a reference. */
export function ociEntryName(d: Descriptor): string | undefined {
  const full = d.annotations?.[CONTAINERD_NAME];
  if (full) {
    try {
      return familiarString(parseNormalizedReference(full));
    } catch {
      /* fall through to ref.name */
    }
  }
  const ref = d.annotations?.[REF_NAME];
  if (ref === undefined) return undefined;
  try {
    parseNormalizedReference(ref);
    return ref;
  } catch {
    return undefined;
  }
}

async function readOci(store: Store, files: ArchiveFiles, indexJson: Buffer, signal?: AbortSignal): Promise<LoadedImage[]> {
  const p = parseManifest(indexJson);
  if (p.kind !== 'index') throw invalid('index.json is not an OCI image index');
  const index: Index = p.index;
  const out: LoadedImage[] = [];
  const seen = new Set<string>();
  for (const d of index.manifests) {
    if (!(await ingestClosure(store, files, d, seen, signal))) throw invalid(`index.json names ${d.digest}, which is not in the archive`);
    const name = ociEntryName(d);
    const desc: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size, ...(d.platform ? { platform: d.platform } : {}) };
    let id: Digest | undefined;
    if (isManifestMediaType(d.mediaType)) {
      const m = parseManifest(await store.readBytes(d.digest), d.mediaType);
      if (m.kind === 'manifest') id = m.manifest.config.digest;
    }
    const prev = out.find((o) => o.desc.digest === desc.digest);
    if (prev && name) (prev.names as string[]).push(name);
    else if (!prev) out.push({ names: name ? [name] : [], desc, ...(id ? { id } : {}) });
  }
  return out;
}
