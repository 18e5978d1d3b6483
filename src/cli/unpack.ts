// Unpack on load/pull/import, as docker and containerd do: an image that arrives in the store has
// its layers extracted into the shared snapshots right away, so the first build on it does not
// pay for it (and `kiln build` timings measure the build). Best effort: a failure only warns —
// the build unpacks what is missing anyway.
import { join } from 'node:path';
import { hostPlatform, parseConfig, parseManifest, type Descriptor } from '../image/index.js';
import { resolveManifest, type Store } from '../store/index.js';
import { createSnapshotter } from '../snapshot/index.js';
import { BuildCache, materialiseImage } from '../build/index.js';

export async function unpackImages(store: Store, root: string, images: readonly { name: string; desc: Descriptor }[]): Promise<void> {
  if (images.length === 0 || process.env['KILN_NO_UNPACK'] === '1') return;
  const snapshotter = await createSnapshotter(join(root, 'snapshots'));
  const cache = new BuildCache(join(root, 'build'));
  const signal = new AbortController().signal;
  for (const img of images) {
    try {
      const desc = await resolveManifest(store, img.desc, hostPlatform());
      const parsed = parseManifest(await store.readBytes(desc.digest), desc.mediaType);
      if (parsed.kind !== 'manifest') continue;
      const config = parseConfig(await store.readBytes(parsed.manifest.config.digest));
      await materialiseImage({ ref: img.name, digest: desc.digest, config }, parsed.manifest, { store, snapshotter, cache }, signal);
    } catch (e: unknown) {
      process.stderr.write(`WARNING: ${img.name}: not unpacked now (the first build will): ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }
}
