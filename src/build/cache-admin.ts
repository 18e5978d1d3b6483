// What the build cache holds (`kiln du`) and removing part of it (`kiln prune --keep-storage /
// --filter until=`): step records, the layer records written from them, base-image layer
// snapshots, and the snapshots they point to. A record's last use is its file's mtime (touched
// on every hit), so pruning is least-recently-used first. A snapshot goes only when no kept
// record needs it (or a descendant of it); layer records go with their snapshot. The layer blobs
// of kept layer records are roots for the blob store's garbage collection (cacheBlobRoots).
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Digest } from '../image/index.js';
import type { SnapshotId, Snapshotter } from '../snapshot/index.js';
import { BuildCache, type CacheRecord } from './cache.js';
import { snapshotExists } from './base.js';
import { removeTree } from '../support/index.js';
import { beginPrune } from './activity.js';

export interface CacheItem {
  /** Record name (a step key, `layer-…`, `chain-…`). */
  readonly name: string;
  /** orphan: a snapshot whose step was re-run under the same key (--no-cache); no build uses it. */
  readonly kind: 'step' | 'layer' | 'base' | 'orphan';
  readonly snapshot: SnapshotId | null;
  readonly lastUsed: number;
  readonly record: CacheRecord;
}

export interface CacheUsage {
  readonly items: readonly (CacheItem & { readonly size: number })[];
  /** Bytes of every snapshot the records point to (each counted once). */
  readonly snapshotBytes: number;
  /** Bytes in persistent RUN --mount=type=cache directories. */
  readonly cacheMountBytes: number;
}

export interface PruneOptions {
  /** Remove records not used since this time (ms since epoch). */
  readonly unusedSince?: number;
  /** Then remove least recently used records until the snapshots take at most this many bytes. */
  readonly keepBytes?: number;
  /** Remove everything (records, snapshots, cache mounts). */
  readonly all?: boolean;
}

export interface PruneResult {
  readonly records: number;
  readonly snapshots: number;
  readonly reclaimedBytes: number;
}

function kindOf(name: string): CacheItem['kind'] | undefined {
  if (name.startsWith('layer-')) return 'layer';
  if (name.startsWith('chain-')) return 'base';
  if (name.startsWith('orphan-')) return 'orphan';
  if (/^[0-9a-f]{64}$/.test(name)) return 'step';
  return undefined;
}

export function listCache(stateDir: string): CacheItem[] {
  if (!existsSync(join(stateDir, 'cache'))) return [];
  const cache = new BuildCache(stateDir);
  const out: CacheItem[] = [];
  for (const name of cache.names()) {
    const kind = kindOf(name);
    if (!kind) continue;
    const record = cache.get(name);
    const lastUsed = cache.lastUsed(name);
    if (!record || lastUsed === undefined) continue;
    out.push({ name, kind, snapshot: record.snapshot, lastUsed, record });
  }
  return out;
}

/** Layer blobs the build cache still uses: keep them when collecting the blob store. */
export function cacheBlobRoots(stateDir: string): Digest[] {
  const out: Digest[] = [];
  for (const it of listCache(stateDir)) {
    const l = it.record.layer;
    if (it.kind === 'layer' && l && !('empty' in l)) out.push(l.digest);
  }
  return out;
}

function dirBytes(p: string): number {
  let total = 0;
  let st;
  try {
    st = lstatSync(p);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.size;
  for (const n of readdirSync(p)) total += dirBytes(join(p, n));
  return total;
}

/** Bytes a snapshot adds on top of its parent (its added/modified files). */
async function snapshotBytes(snapshotter: Snapshotter, id: SnapshotId): Promise<number> {
  try {
    const d = await snapshotter.diff(id);
    let total = 0;
    for (const c of d.changes) {
      if (c.kind === 'delete') continue;
      try {
        const st = lstatSync(join(d.root, c.path));
        if (!st.isDirectory()) total += st.size;
      } catch {
        /* vanished */
      }
    }
    return total;
  } catch {
    return 0;
  }
}

async function sizes(snapshotter: Snapshotter, items: readonly CacheItem[]): Promise<Map<SnapshotId, number>> {
  const out = new Map<SnapshotId, number>();
  for (const it of items) {
    if (it.snapshot === null || out.has(it.snapshot) || !snapshotExists(snapshotter, it.snapshot)) continue;
    out.set(it.snapshot, await snapshotBytes(snapshotter, it.snapshot));
  }
  return out;
}

export async function cacheUsage(stateDir: string, snapshotter: Snapshotter): Promise<CacheUsage> {
  const items = listCache(stateDir);
  const sz = await sizes(snapshotter, items);
  let snapshotTotal = 0;
  for (const v of sz.values()) snapshotTotal += v;
  return {
    items: items.map((it) => ({ ...it, size: it.snapshot === null || it.kind === 'layer' ? 0 : sz.get(it.snapshot) ?? 0 })),
    snapshotBytes: snapshotTotal,
    cacheMountBytes: dirBytes(join(stateDir, 'cache-mounts')),
  };
}

/** Snapshots `ids` and all their ancestors. */
function closure(snapshotter: Snapshotter, ids: Iterable<SnapshotId | null>): Set<SnapshotId> {
  const out = new Set<SnapshotId>();
  for (const start of ids) {
    let cur: SnapshotId | null = start;
    while (cur !== null && !out.has(cur) && snapshotExists(snapshotter, cur)) {
      out.add(cur);
      cur = snapshotter.parent(cur);
    }
  }
  return out;
}

export async function pruneCache(stateDir: string, snapshotter: Snapshotter, opts: PruneOptions): Promise<PruneResult> {
  const end = beginPrune(stateDir);
  try {
    return await pruneLocked(stateDir, snapshotter, opts);
  } finally {
    end();
  }
}

async function pruneLocked(stateDir: string, snapshotter: Snapshotter, opts: PruneOptions): Promise<PruneResult> {
  const cache = new BuildCache(stateDir);
  const items = listCache(stateDir);
  const sz = await sizes(snapshotter, items);
  // steps and base layers are what a build looks up; layer records follow their snapshot
  const primary = items.filter((it) => it.kind !== 'layer').sort((a, b) => a.lastUsed - b.lastUsed);
  const drop = new Set<string>();
  for (const it of primary) {
    if (opts.all || (opts.unusedSince !== undefined && it.lastUsed < opts.unusedSince)) drop.add(it.name);
  }
  const keptSnapshots = (): Set<SnapshotId> => closure(snapshotter, primary.filter((it) => !drop.has(it.name)).map((it) => it.snapshot));
  let kept = keptSnapshots();
  if (opts.keepBytes !== undefined) {
    const used = (): number => [...kept].reduce((a, id) => a + (sz.get(id) ?? 0), 0);
    for (const it of primary) {
      if (used() <= opts.keepBytes) break;
      if (drop.has(it.name)) continue;
      drop.add(it.name);
      kept = keptSnapshots();
    }
  }
  kept = keptSnapshots();
  let records = 0;
  for (const it of items) {
    const goes = it.kind === 'layer' ? it.snapshot !== null && !kept.has(it.snapshot) : drop.has(it.name);
    if (!goes) continue;
    cache.remove(it.name);
    records++;
  }
  // derived records: what COPY --from read from a snapshot, and slots (only meaningful with their records)
  for (const name of cache.names()) {
    if (opts.all && (name.startsWith('srcd-') || name.startsWith('slot-'))) cache.remove(name);
    else if (name.startsWith('srcd-') && opts.unusedSince !== undefined && (cache.lastUsed(name) ?? 0) < opts.unusedSince) cache.remove(name);
  }
  // snapshots no kept record needs, children before parents
  const candidates = closure(snapshotter, items.filter((it) => drop.has(it.name)).map((it) => it.snapshot));
  const depth = (id: SnapshotId): number => {
    const seen = new Set<SnapshotId>(); // a damaged meta.json can make a cycle
    for (let c: SnapshotId | null = id; c !== null && !seen.has(c) && snapshotExists(snapshotter, c); c = snapshotter.parent(c)) seen.add(c);
    return seen.size;
  };
  const order = [...candidates].filter((id) => !kept.has(id)).map((id) => ({ id, d: depth(id) })).sort((a, b) => b.d - a.d);
  const bytes = new Map<SnapshotId, number>();
  for (const { id } of order) bytes.set(id, sz.get(id) ?? (await snapshotBytes(snapshotter, id)));
  // one pass over the snapshots' metas for all removals (per removal, a store of 5k snapshots
  // made pruning quadratic); one another snapshot still builds on is skipped
  const removed = await snapshotter.removeMany(order.map((o) => o.id));
  const snapshots = removed.length;
  let reclaimed = removed.reduce((a, id) => a + (bytes.get(id) ?? 0), 0);
  if (opts.all) {
    const mounts = join(stateDir, 'cache-mounts');
    reclaimed += dirBytes(mounts);
    removeTree(mounts);
  }
  return { records, snapshots, reclaimedBytes: reclaimed };
}
