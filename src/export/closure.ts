// What an export contains: the blobs an image name needs, read from the store.
import { KilnError } from '../errors.js';
import { isIndexMediaType, isManifestMediaType, parseManifest, type Descriptor, type Digest } from '../image/index.js';
import { isOptionalLayer, type Store } from '../store/index.js';

/** An image to export: the name it gets in the output, and its store descriptor (manifest or index). */
export interface NamedImage {
  readonly name: string;
  readonly desc: Descriptor;
}

/**
 * Adds `desc` and everything it references that the store holds to `out` (digest → descriptor).
 * A manifest's config and layers are required (BLOB_NOT_FOUND otherwise); an index's children
 * and foreign/non-distributable layers are included only when stored (a partial pull keeps one platform).
 */
export async function collectBlobs(store: Store, desc: Descriptor, out: Map<Digest, Descriptor>): Promise<void> {
  if (out.has(desc.digest)) return;
  if (!(await store.has(desc.digest))) {
    throw new KilnError('BLOB_NOT_FOUND', `blob ${desc.digest} is not in the local store`, { hint: 'run `kiln store verify`; pull or build the image again' });
  }
  out.set(desc.digest, desc);
  if (!isManifestMediaType(desc.mediaType) && !isIndexMediaType(desc.mediaType)) return;
  const parsed = parseManifest(await store.readBytes(desc.digest), desc.mediaType);
  if (parsed.kind === 'index') {
    for (const c of parsed.index.manifests) if (await store.has(c.digest)) await collectBlobs(store, c, out);
    return;
  }
  const m = parsed.manifest;
  await collectBlobs(store, m.config, out);
  for (const l of m.layers) {
    if (isOptionalLayer(l.mediaType) && !(await store.has(l.digest))) continue;
    await collectBlobs(store, l, out);
  }
}

/** The blobs of several images, sorted by digest (the order archives list them in). */
export async function collectAll(store: Store, images: readonly NamedImage[]): Promise<Descriptor[]> {
  const out = new Map<Digest, Descriptor>();
  for (const i of images) await collectBlobs(store, i.desc, out);
  return [...out.values()].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
}
