// Base images for builds and `kiln run`: the local store first, then (with --pull=missing) the
// image's registry, which stores what it pulls under the fully qualified name.
import { KilnError } from '../errors.js';
import { parseConfig, parseManifest, type Descriptor, type Platform } from '../image/index.js';
import type { ResolvedImage } from '../plan/index.js';
import { resolveManifest, type Store } from '../store/index.js';
import { RegistryClient, formatReference, parseNormalizedReference, pull } from '../registry/index.js';
import { clientOptions, resolveLocal } from './commands/registry.js';

export async function resolveFromStore(store: Store, ref: string, platform: Platform): Promise<ResolvedImage | undefined> {
  let found: { name: string; desc: Descriptor };
  try {
    found = resolveLocal(store, ref);
  } catch (e: unknown) {
    // only a missing name is "not here": a store whose index.json cannot be read says so
    if (e instanceof KilnError && e.code === 'IMAGE_NOT_FOUND') return undefined;
    throw e;
  }
  const desc = await resolveManifest(store, found.desc, platform);
  const parsed = parseManifest(await store.readBytes(desc.digest), desc.mediaType);
  if (parsed.kind !== 'manifest') throw new KilnError('IMAGE_INVALID', `${ref}: expected an image manifest`);
  const config = parseConfig(await store.readBytes(parsed.manifest.config.digest));
  return { ref: found.name, digest: desc.digest, config };
}

/** Fetch a base image from its registry: one the store lacks (`--pull=missing`), or always (`--pull`). */
export async function pullToStore(store: Store, ref: string, platform: Platform, signal?: AbortSignal, always = false): Promise<ResolvedImage | undefined> {
  let parsed;
  try {
    parsed = parseNormalizedReference(ref);
  } catch {
    return undefined;
  }
  const client = new RegistryClient(parsed.domain, clientOptions({}));
  try {
    const res = await pull(client, parsed, store, { platform, ...(signal ? { signal } : {}) });
    const name = formatReference(parsed);
    await store.tag({ name, descriptor: res.manifest });
    return { ref: name, digest: res.manifest.digest, config: res.config };
  } catch (e: unknown) {
    if (e instanceof KilnError && e.code === 'ABORTED') throw e;
    const why = e instanceof Error ? e.message : String(e);
    if (always) {
      throw new KilnError('IMAGE_NOT_FOUND', `${ref}: pulling it failed (--pull=always): ${why}`, {
        cause: e,
        hint: 'check that the registry is reachable; without --pull (or with --pull=missing) the image in the local store is used',
      });
    }
    throw new KilnError('IMAGE_NOT_FOUND', `${ref}: not in the local store, and pulling it failed: ${why}`, {
      cause: e,
      hint: 'load it with `kiln load -i FILE` / `kiln import`, or pull it from a reachable registry with `kiln pull`; --pull=never skips the registry',
    });
  } finally {
    client.close();
  }
}
