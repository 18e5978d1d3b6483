// Base images as snapshot chains: each layer is extracted once into its own committed snapshot,
// keyed by its chain id (sha256 over the diff_ids below and including it, like containerd), so
// every build and every stage on the same base shares the extracted layers.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { KilnError } from '../errors.js';
import type { Descriptor, Digest, Manifest } from '../image/index.js';
import { applyLayer, decompressLayer } from '../layer/index.js';
import type { ResolvedImage } from '../plan/index.js';
import type { SnapshotId, Snapshotter } from '../snapshot/index.js';
import type { BuildCache } from './cache.js';
import type { BlobStore } from './ports.js';

export interface MaterialisedImage {
  /** Top snapshot of the chain (null: no layers). */
  readonly snapshot: SnapshotId | null;
  readonly manifest: Manifest;
  /** The layers with their diff ids, for reuse in the final image (never re-compressed). */
  readonly layers: readonly { readonly descriptor: Descriptor; readonly diffId: Digest }[];
}

export function chainIds(diffIds: readonly Digest[]): string[] {
  const out: string[] = [];
  let prev = '';
  for (const d of diffIds) {
    prev = prev === '' ? d : `sha256:${createHash('sha256').update(`${prev} ${d}`).digest('hex')}`;
    out.push(prev);
  }
  return out;
}

export function snapshotExists(snapshotter: Snapshotter, id: string | null): boolean {
  if (id === null) return true;
  try {
    snapshotter.parent(id);
    return true;
  } catch {
    return false;
  }
}

/** Extracts (or finds already extracted) every layer of `image` and returns the top snapshot. */
export async function materialiseImage(
  image: ResolvedImage,
  manifest: Manifest,
  deps: { store: BlobStore; snapshotter: Snapshotter; cache: BuildCache },
  signal: AbortSignal,
): Promise<MaterialisedImage> {
  const diffIds = image.config.rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length) {
    throw new KilnError('IMAGE_INVALID', `image ${image.ref}: ${manifest.layers.length} layers but ${diffIds.length} diff_ids in its config`);
  }
  const chains = chainIds(diffIds);
  let parent: SnapshotId | null = null;
  for (let i = 0; i < manifest.layers.length; i++) {
    const key = `chain-${chains[i]!.slice('sha256:'.length)}`;
    const rec = deps.cache.get(key);
    if (rec && rec.snapshot !== null && snapshotExists(deps.snapshotter, rec.snapshot) && deps.snapshotter.parent(rec.snapshot) === parent) {
      deps.cache.touch(key); // last use, for LRU pruning
      parent = rec.snapshot;
      continue;
    }
    const desc = manifest.layers[i]!;
    const id: SnapshotId = await deps.snapshotter.importLayer(
      parent,
      async (dir, whiteoutMode, sig) => {
        const blob = await deps.store.open(desc.digest, sig);
        const tar = await decompressLayer(Readable.from(blob as AsyncIterable<Buffer>), desc.mediaType);
        await applyLayer(tar, dir, { whiteouts: whiteoutMode, signal: sig });
      },
      signal,
    );
    deps.cache.put(key, { snapshot: id, created: new Date().toISOString() });
    parent = id;
  }
  return {
    snapshot: parent,
    manifest,
    layers: manifest.layers.map((descriptor, i) => ({ descriptor, diffId: diffIds[i]! })),
  };
}
