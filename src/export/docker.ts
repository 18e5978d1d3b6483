// docker-archive output: what `docker save` (Docker 25+) writes and `docker load` reads.
//   blobs/sha256/<hex>   the config (as is) and every layer as an UNCOMPRESSED tar (named by its
//                        diff_id), plus one OCI manifest per image (so the tar is an OCI layout too)
//   index.json           one entry per name (io.containerd.image.name + ref.name = the tag)
//   manifest.json        [{Config, RepoTags, Layers, LayerSources}], one item per image ID
//   oci-layout, repositories
// Layers stored gzip/zstd-compressed are decompressed twice (once to learn the size for the
// tar header, once to write), so nothing is spooled to disk; both passes are checked against
// the config's diff_id.
import { Readable } from 'node:stream';
import { KilnError } from '../errors.js';
import {
  MediaType, VerifyingStream, buildIndex, buildManifest, canonicalJson, digestHex, hashStream, hostPlatform, layerCompression,
  parseConfig, parseManifest, pipeThrough, sha256, type Descriptor, type Digest, type Platform,
} from '../image/index.js';
import { decompressLayer } from '../layer/index.js';
import { familiarString, formatReference, parseNormalizedReference } from '../registry/index.js';
import { OCI_LAYOUT, REF_NAME, resolveManifest, type Store } from '../store/index.js';
import type { NamedImage } from './closure.js';
import type { ExportOptions } from './oci.js';
import { writeStreamAtomic } from './output.js';
import { bytesEntry, dirEntry, tarStream, type OutEntry } from './tar-out.js';

export interface DockerExportOptions extends ExportOptions {
  /** Which platform of a multi-platform image (default: the host's). */
  readonly platform?: Platform;
}

export const CONTAINERD_NAME = 'io.containerd.image.name';

interface Item {
  config: Digest;
  repoTags: string[];
  layers: Digest[];
  layerSources: Record<string, { mediaType: string; size: number; digest: Digest }>;
}

/** The tagged familiar form Docker puts in RepoTags (`app:1`), or undefined for digest-only names. */
export function dockerRepoTag(name: string): { familiar: string; full: string; tag: string } | undefined {
  let ref;
  try {
    ref = parseNormalizedReference(name);
  } catch {
    return undefined;
  }
  if (ref.tag === undefined) return undefined;
  const tagged = { domain: ref.domain, path: ref.path, tag: ref.tag };
  return { familiar: familiarString(tagged), full: formatReference(tagged), tag: ref.tag };
}

function sourceOf(store: Store, desc: Descriptor, diffId: Digest): { size: () => Promise<number>; open: (signal?: AbortSignal) => Promise<NodeJS.ReadableStream> } {
  if (layerCompression(desc.mediaType) === 'none' && desc.digest === diffId) {
    return { size: async () => desc.size, open: (signal) => store.open(desc.digest, signal) };
  }
  let size: number | undefined;
  const open = async (signal?: AbortSignal): Promise<NodeJS.ReadableStream> => {
    const raw = await store.open(desc.digest, signal);
    const tar = await decompressLayer(raw as unknown as Readable, desc.mediaType);
    return pipeThrough(tar, new VerifyingStream(diffId, size, `layer ${desc.digest} (uncompressed)`));
  };
  return {
    size: async () => {
      if (size === undefined) {
        const h = await hashStream(await decompressLayer((await store.open(desc.digest)) as unknown as Readable, desc.mediaType));
        if (h.digest !== diffId) {
          throw new KilnError('DIGEST_MISMATCH', `layer ${desc.digest} uncompresses to ${h.digest}, but the config's diff_id is ${diffId}`, { hint: 'the image is inconsistent; pull or build it again' });
        }
        size = h.size;
      }
      return size;
    },
    open,
  };
}

/** The entries of a docker-archive for `images` (names → their image for `platform`). */
export async function dockerArchiveEntries(store: Store, images: readonly NamedImage[], opts: DockerExportOptions = {}): Promise<OutEntry[]> {
  const blobs = new Map<Digest, OutEntry>();
  const items: Item[] = [];
  const index: Descriptor[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  for (const img of images) {
    opts.signal?.throwIfAborted();
    const mdesc = await resolveManifest(store, img.desc, opts.platform ?? hostPlatform());
    const parsed = parseManifest(await store.readBytes(mdesc.digest), mdesc.mediaType);
    if (parsed.kind !== 'manifest') throw new KilnError('INTERNAL', 'resolveManifest returned an index');
    const m = parsed.manifest;
    const rawConfig = await store.readBytes(m.config.digest);
    const config = parseConfig(rawConfig);
    if (config.rootfs.diff_ids.length !== m.layers.length) {
      throw new KilnError('IMAGE_INVALID', `${img.name}: the config lists ${config.rootfs.diff_ids.length} diff_ids for ${m.layers.length} layers`);
    }
    blobs.set(m.config.digest, bytesEntry(`blobs/sha256/${digestHex(m.config.digest)}`, rawConfig));
    const layerDescs: Descriptor[] = [];
    for (let i = 0; i < m.layers.length; i++) {
      const l = m.layers[i]!;
      const diffId = config.rootfs.diff_ids[i]!;
      if (l.mediaType.includes('.foreign.') || l.mediaType.includes('.nondistributable.')) {
        throw new KilnError('NOT_IMPLEMENTED', `${img.name}: layer ${l.digest} is a foreign layer (${l.mediaType}); docker-archive export of foreign layers is not supported`);
      }
      const src = sourceOf(store, l, diffId);
      const size = await src.size();
      if (!blobs.has(diffId)) blobs.set(diffId, { name: `blobs/sha256/${digestHex(diffId)}`, size, open: src.open });
      layerDescs.push({ mediaType: MediaType.OciLayer, digest: diffId, size });
    }
    // the OCI view of the same image (what Docker 25+ puts in index.json)
    const ociManifest = canonicalJson(buildManifest({
      format: 'oci',
      config: { mediaType: MediaType.OciConfig, digest: m.config.digest, size: m.config.size },
      layers: layerDescs,
    }));
    const ociDesc: Descriptor = { mediaType: MediaType.OciManifest, digest: sha256(ociManifest), size: ociManifest.length };
    blobs.set(ociDesc.digest, bytesEntry(`blobs/sha256/${digestHex(ociDesc.digest)}`, ociManifest));

    const tag = dockerRepoTag(img.name);
    let item = items.find((it) => it.config === m.config.digest);
    if (!item) {
      item = { config: m.config.digest, repoTags: [], layers: layerDescs.map((d) => d.digest), layerSources: {} };
      for (const d of layerDescs) item.layerSources[d.digest] = { mediaType: d.mediaType, size: d.size, digest: d.digest };
      items.push(item);
    }
    if (tag && !item.repoTags.includes(tag.familiar)) item.repoTags.push(tag.familiar);
    index.push({
      ...ociDesc,
      annotations: tag ? { [CONTAINERD_NAME]: tag.full, [REF_NAME]: tag.tag } : { [REF_NAME]: img.name },
    });
    if (tag && layerDescs.length > 0) {
      const repo = tag.familiar.slice(0, tag.familiar.length - tag.tag.length - 1);
      (repositories[repo] ??= {})[tag.tag] = digestHex(layerDescs[layerDescs.length - 1]!.digest);
    }
  }
  const manifestJson = canonicalJson(items.map((it) => ({
    Config: `blobs/sha256/${digestHex(it.config)}`,
    RepoTags: it.repoTags.length ? it.repoTags : null,
    Layers: it.layers.map((d) => `blobs/sha256/${digestHex(d)}`),
    LayerSources: it.layerSources,
  })));
  const sortedRepos: Record<string, Record<string, string>> = {};
  for (const r of Object.keys(repositories).sort()) sortedRepos[r] = repositories[r]!;
  const sorted = [...blobs.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return [
    dirEntry('blobs/'),
    dirEntry('blobs/sha256/'),
    ...sorted,
    bytesEntry('index.json', canonicalJson(buildIndex({ format: 'oci', manifests: index }))),
    bytesEntry('manifest.json', manifestJson),
    bytesEntry('oci-layout', Buffer.from(OCI_LAYOUT)),
    bytesEntry('repositories', canonicalJson(sortedRepos)),
  ];
}

/** The docker-archive as a byte stream (deterministic). */
export async function dockerArchiveStream(store: Store, images: readonly NamedImage[], opts: DockerExportOptions = {}): Promise<Readable> {
  const entries = await dockerArchiveEntries(store, images, opts);
  return Readable.from(tarStream(entries, opts.signal), { objectMode: false });
}

/** Writes a docker-archive (`docker load -i FILE` reads it) to `file`, atomically. */
export async function writeDockerArchive(store: Store, images: readonly NamedImage[], file: string, opts: DockerExportOptions = {}): Promise<void> {
  await writeStreamAtomic(file, await dockerArchiveStream(store, images, opts), opts.signal);
}
