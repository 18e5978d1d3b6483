// Garbage collection (mark from the names + extra roots, sweep the rest) and verification.
// Both run under the store lock, so they never race a tag/untag.
import { readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { KilnError } from '../errors.js';
import { isDigest, parseManifest, type Descriptor, type Digest } from '../image/index.js';
import { MAX_JSON_BLOB } from './blobs.js';
import { pidAlive, readFileOrUndefined, tempOwner } from './fsutil.js';
import type { LockOptions } from './lock.js';
import { OCI_LAYOUT, type Store } from './store.js';

export interface GcOptions {
  /** More roots (e.g. the build cache's records): descriptors, or bare digests (parsed if they are manifests). */
  readonly extraRoots?: readonly (Descriptor | Digest)[];
  /** Keep unreferenced blobs younger than this (default 0: remove them all). */
  readonly graceMs?: number;
  /** Remove temp files of live processes once older than this (default 24 h); dead owners' at once. */
  readonly tempMaxAgeMs?: number;
  readonly dryRun?: boolean;
  readonly lock?: LockOptions;
}

export interface GcResult {
  readonly removed: readonly Digest[];
  /** Bytes of removed blobs and temp files. */
  readonly reclaimedBytes: number;
  readonly tempFilesRemoved: number;
  readonly kept: number;
}

/** Every digest reachable from the names (and unnamed index.json entries) and the extra roots. */
export async function markReachable(store: Store, extraRoots: readonly (Descriptor | Digest)[] = []): Promise<Set<Digest>> {
  const marked = new Set<Digest>();
  const queue: (Descriptor | Digest)[] = [...store.readIndex().manifests, ...extraRoots];
  while (queue.length > 0) {
    const item = queue.pop()!;
    const digest = typeof item === 'string' ? item : item.digest;
    if (marked.has(digest) || !(await store.has(digest))) continue;
    marked.add(digest);
    if (typeof item === 'string') {
      const { size } = await store.stat(digest);
      if (size > MAX_JSON_BLOB) continue;
      let parsed;
      try {
        parsed = parseManifest(await store.readBytes(digest));
      } catch (e: unknown) {
        if (e instanceof KilnError && e.code === 'DIGEST_MISMATCH') throw corrupt(digest, e);
        continue; // not a manifest: a leaf
      }
      queue.push(...(parsed.kind === 'index' ? parsed.index.manifests : [parsed.manifest.config, ...parsed.manifest.layers]));
      continue;
    }
    try {
      const { required, optional } = await store.children(item);
      queue.push(...required, ...optional);
    } catch (e: unknown) {
      throw corrupt(digest, e);
    }
  }
  return marked;
}

function corrupt(d: Digest, cause: unknown): KilnError {
  return new KilnError('STORE_CORRUPT', `cannot read referenced manifest ${d}: ${cause instanceof Error ? cause.message : String(cause)}`, {
    cause,
    hint: 'nothing was removed; run `kiln store verify` and remove or re-pull the broken image',
  });
}

export async function gc(store: Store, opts: GcOptions = {}): Promise<GcResult> {
  return store.withLock(async () => {
    const marked = await markReachable(store, opts.extraRoots);
    const now = Date.now();
    const removed: Digest[] = [];
    let reclaimed = 0;
    let kept = 0;
    for (const d of store.list()) {
      if (marked.has(d)) {
        kept++;
        continue;
      }
      let st;
      try {
        st = statSync(store.blobs.path(d));
      } catch {
        continue;
      }
      if (now - st.mtimeMs < (opts.graceMs ?? 0)) {
        kept++;
        continue;
      }
      if (!opts.dryRun && !store.delete(d)) continue;
      removed.push(d);
      reclaimed += st.size;
    }
    let temps = 0;
    const maxAge = opts.tempMaxAgeMs ?? 24 * 3600_000;
    const sweep = (dir: string, match: (n: string) => number | undefined | null): void => {
      for (const n of readdirSync(dir)) {
        const owner = match(n);
        if (owner === null) continue;
        const p = join(dir, n);
        let st;
        try {
          st = statSync(p);
        } catch {
          continue;
        }
        if (!st.isFile()) continue;
        const abandoned = owner === undefined || owner !== process.pid ? (owner !== undefined && !pidAlive(owner)) || now - st.mtimeMs > maxAge : false;
        if (!abandoned) continue;
        if (!opts.dryRun) {
          try { unlinkSync(p); } catch { continue; }
        }
        temps++;
        reclaimed += st.size;
      }
    };
    sweep(store.tmpDir, (n) => tempOwner(n));
    sweep(store.root, (n) => {
      const m = /^kiln\.lock\.broken-(\d+)-[0-9a-f]+$/.exec(n);
      return m ? Number(m[1]) : null;
    });
    return { removed, reclaimedBytes: reclaimed, tempFilesRemoved: temps, kept };
  }, opts.lock);
}

/**
 * Rechecks every blob's content against its name and that every name's closure is stored.
 * Returns the problems (empty when the store is consistent).
 */
export async function verify(store: Store, opts: { lock?: LockOptions; signal?: AbortSignal } = {}): Promise<string[]> {
  return store.withLock(async () => {
    const problems: string[] = [];
    const layout = readFileOrUndefined(join(store.root, 'oci-layout'));
    if (layout === undefined) problems.push('oci-layout: missing');
    else {
      try {
        if ((JSON.parse(layout.toString()) as { imageLayoutVersion?: unknown }).imageLayoutVersion !== '1.0.0') problems.push(`oci-layout: not ${OCI_LAYOUT}`);
      } catch {
        problems.push('oci-layout: not JSON');
      }
    }
    for (const n of readdirSync(store.blobs.blobsDir)) {
      for (const f of readdirSync(join(store.blobs.blobsDir, n))) {
        if (!isDigest(`${n}:${f}`)) problems.push(`blobs/${n}/${f}: not a blob name`);
      }
    }
    for (const d of store.list()) {
      opts.signal?.throwIfAborted();
      try {
        await pipeline(await store.open(d, opts.signal), new Writable({ write: (_c, _e, cb) => cb() }));
      } catch (e: unknown) {
        problems.push(`blob ${d}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    let index;
    try {
      index = store.readIndex();
    } catch (e: unknown) {
      problems.push(e instanceof Error ? e.message : String(e));
      return problems;
    }
    for (const desc of index.manifests) {
      const label = desc.annotations?.['org.opencontainers.image.ref.name'] ?? `(unnamed ${desc.digest})`;
      try {
        const missing = await store.missing(desc);
        for (const m of missing) problems.push(`${label}: blob ${m} is missing`);
        if (missing[0] !== desc.digest) {
          const { size } = await store.stat(desc.digest);
          if (size !== desc.size) problems.push(`${label}: index.json says ${desc.size} bytes, the blob has ${size}`);
        }
      } catch (e: unknown) {
        problems.push(`${label}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    return problems;
  }, opts.lock);
}
