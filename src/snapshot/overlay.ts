// The overlayfs snapshotter. A committed snapshot is one layer dir (the upperdir of the step
// that made it); an active snapshot is an overlay mount: lowerdir = the parent chain's layer
// dirs, newest first, upperdir = its own layer dir.
//
// Long chains: the kernel takes mount options in one page (4096 bytes). Mounts therefore run
// from `snapshots/` as cwd with relative paths (`<8-hex-id>/fs`, 12 bytes a layer, so ~300
// layers fit). When a chain still does not fit (or passes overlayfs's 500-layer stack limit),
// its oldest part is flattened: merged once through a read-only overlay into a new layer dir
// that is recorded as `flat` in the meta of the newest snapshot it covers, and reused.
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { KilnError } from '../errors.js';
import { output, removeTree } from '../support/index.js';
import { overlayDiff } from './diff.js';
import { MetaStore, pidAlive, type SnapshotMeta } from './meta.js';
import { BOOT_ID, bootFile } from './durability.js';
import { isMounted, mountOverlay, mountsUnder, unmount, unmountAllUnder } from './mount.js';
import type { ActiveSnapshot, ApplyToDir, PrepareSeed, ReadOnlyView, SnapshotDiff, SnapshotId, Snapshotter } from './types.js';

export interface OverlaySnapshotterOptions {
  /** Bytes allowed for the overlay mount option string. Default 3800 (one page minus slack). */
  readonly maxOptionBytes?: number;
  /** Most lower layers in one mount. Default 450 (overlayfs allows 500). */
  readonly maxLayers?: number;
  /**
   * Mount writable snapshots `volatile` (Linux 5.10+, probed in detect.ts): no sync of the upper
   * filesystem at unmount; commits are stamped instead (durability.ts).
   */
  readonly volatile?: boolean;
}

const OVERLAY_FLAGS = 'index=off,metacopy=off,redirect_dir=off';

function aborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new KilnError('ABORTED', 'snapshot preparation aborted');
}

export class OverlaySnapshotter implements Snapshotter {
  readonly backend = 'overlay' as const;
  readonly root: string;
  private readonly meta: MetaStore;
  private readonly maxOptionBytes: number;
  private readonly maxLayers: number;
  private readonly flags: string;
  private readonly active = new Map<SnapshotId, ActiveSnapshot>();
  private readonly views = new Map<string, ReadOnlyView>();
  private readonly flattening = new Map<SnapshotId, Promise<void>>();

  constructor(root: string, opts: OverlaySnapshotterOptions = {}) {
    this.meta = new MetaStore(root);
    this.root = this.meta.root;
    this.maxOptionBytes = opts.maxOptionBytes ?? 3800;
    this.maxLayers = opts.maxLayers ?? 450;
    this.flags = opts.volatile === true ? `${OVERLAY_FLAGS},volatile` : OVERLAY_FLAGS;
  }

  parent(id: SnapshotId): SnapshotId | null {
    return this.meta.read(id).parent;
  }

  /** Layer dirs (relative to snapshots/) of `id` and its parents, newest first, flats used. */
  private chain(id: SnapshotId | null): { id: SnapshotId; rel: string }[] {
    const out: { id: SnapshotId; rel: string }[] = [];
    const seen = new Set<SnapshotId>();
    let cur = id;
    while (cur !== null) {
      if (seen.has(cur)) {
        // only a damaged meta.json can do this: looping would hang every mount
        throw new KilnError('STORE_CORRUPT', `snapshot ${cur}: its parents form a cycle (damaged snapshot metadata)`, { hint: 'remove the build cache with `kiln prune -a`; images in the store are not affected' });
      }
      seen.add(cur);
      const m = this.meta.committed(cur);
      // a flat made after `cur` may not have survived a reboot that `cur` did (durability.ts)
      if (m.flat !== undefined && this.meta.tryRead(m.flat)?.state === 'committed') {
        out.push({ id: m.flat, rel: `${m.flat}/fs` });
        break;
      }
      out.push({ id: cur, rel: `${cur}/fs` });
      cur = m.parent;
    }
    return out;
  }

  private fits(rels: readonly string[], extra: number): boolean {
    const len = 'lowerdir='.length + rels.join(':').length + extra;
    return len <= this.maxOptionBytes && rels.length <= this.maxLayers;
  }

  /** The lowerdir list for a mount on top of `id`, flattening old parts until it fits. */
  private async lowers(id: SnapshotId | null, extra: number, signal?: AbortSignal): Promise<string[]> {
    for (;;) {
      const chain = this.chain(id);
      const rels = chain.map((c) => c.rel);
      if (rels.length === 0) return ['empty'];
      if (this.fits(rels, extra)) return rels;
      // the longest oldest part that mounts on its own (at least two layers)
      let k = 2;
      while (k < chain.length && this.fits(rels.slice(rels.length - (k + 1)), 64)) k++;
      const part = chain.slice(chain.length - k);
      const top = part[0]!.id;
      // concurrent prepares on the same long chain share one flattening
      let pending = this.flattening.get(top);
      if (pending === undefined) {
        pending = this.flatten(top, part.map((c) => c.rel), signal).finally(() => this.flattening.delete(top));
        this.flattening.set(top, pending);
      }
      await pending;
    }
  }

  /** Merges layer dirs `rels` (newest first, the newest being snapshot `top`) into a new flat layer. */
  private async flatten(top: SnapshotId, rels: readonly string[], signal?: AbortSignal): Promise<void> {
    aborted(signal);
    const flat = this.meta.create({ parent: null, state: 'active', pid: process.pid, flatOf: top });
    const view = join(this.meta.views, `${process.pid}-${randomBytes(4).toString('hex')}`);
    mkdirSync(view);
    try {
      await mountOverlay(view, `ro,lowerdir=${rels.join(':')}`, this.meta.snapshots);
      try {
        await output('cp', ['-a', '--', `${view}/.`, join(this.meta.dir(flat), 'fs')], { signal });
      } finally {
        await unmount(view);
      }
      aborted(signal);
      this.meta.commit(flat, { parent: null, pid: process.pid, flatOf: top });
      this.meta.write(top, { ...this.meta.committed(top), flat });
    } catch (e) {
      this.safeRemoveDir(this.meta.dir(flat));
      this.meta.forget(flat);
      throw e;
    } finally {
      rmSync(view, { recursive: true, force: true });
    }
  }

  async prepare(parent: SnapshotId | null, signal?: AbortSignal, seed?: PrepareSeed): Promise<ActiveSnapshot & { readonly seeded: boolean }> {
    aborted(signal);
    if (parent !== null) this.meta.committed(parent);
    // a seed only from a committed sibling: its layer dir is complete and never changes again
    const from = seed === undefined ? undefined : this.meta.tryRead(seed.from);
    const useSeed = seed !== undefined && from?.state === 'committed' && from.parent === parent && from.flatOf === undefined ? seed : undefined;
    const id = this.meta.create({ parent, state: 'active', pid: process.pid });
    const dir = this.meta.dir(id);
    const merged = join(dir, 'merged');
    let seeded = false;
    try {
      if (useSeed !== undefined) seeded = this.fillSeed(useSeed, join(dir, 'fs'));
      aborted(signal);
      mkdirSync(join(dir, 'work'));
      mkdirSync(merged);
      const own = `,upperdir=${id}/fs,workdir=${id}/work,${this.flags}`;
      const lowers = await this.lowers(parent, own.length, signal);
      aborted(signal);
      await mountOverlay(merged, `lowerdir=${lowers.join(':')}${own}`, this.meta.snapshots);
    } catch (e) {
      if (isMounted(merged)) await unmount(merged).catch(() => undefined);
      this.safeRemoveDir(dir);
      this.meta.forget(id);
      throw e;
    }
    let released = false;
    const snap: ActiveSnapshot & { readonly seeded: boolean } = {
      id,
      rootfs: merged,
      seeded,
      release: async () => {
        if (released) return;
        released = true;
        this.active.delete(id);
        if (isMounted(merged)) await unmount(merged);
        this.safeRemoveDir(dir);
        this.meta.forget(id);
      },
    };
    this.active.set(id, snap);
    return snap;
  }

  /** Runs a seed; one that fails leaves an empty layer (the step then does all its work itself). */
  private fillSeed(seed: PrepareSeed, layer: string): boolean {
    try {
      seed.fill(layer, join(this.meta.dir(seed.from), 'fs'));
      return true;
    } catch {
      removeTree(layer);
      mkdirSync(layer, { mode: 0o755 });
      return false;
    }
  }

  async commit(active: ActiveSnapshot): Promise<SnapshotId> {
    const m = this.meta.read(active.id);
    if (m.state !== 'active' || !this.active.has(active.id)) throw new KilnError('INTERNAL', `snapshot ${active.id} is not active here`);
    const dir = this.meta.dir(active.id);
    const merged = join(dir, 'merged');
    if (isMounted(merged)) await unmount(merged);
    this.active.delete(active.id);
    removeTree(join(dir, 'work'));
    rmSync(merged, { recursive: true, force: true });
    this.meta.commit(active.id, { parent: m.parent, pid: process.pid });
    return active.id;
  }

  async diff(snapshot: ActiveSnapshot | SnapshotId): Promise<SnapshotDiff> {
    const id = typeof snapshot === 'string' ? snapshot : snapshot.id;
    const m = this.meta.read(id);
    const upper = join(this.meta.dir(id), 'fs');
    const lowers = m.parent === null ? [] : this.chain(m.parent).map((c) => join(this.meta.snapshots, c.rel));
    return { root: upper, changes: overlayDiff(upper, lowers) };
  }

  async remove(id: SnapshotId): Promise<void> {
    const m = this.meta.committed(id);
    const children = this.meta.children(id);
    if (children.length > 0) throw new KilnError('INTERNAL', `snapshot ${id} still has children (${children.join(', ')})`);
    this.drop(m, id);
  }

  async removeMany(ids: readonly SnapshotId[]): Promise<SnapshotId[]> {
    return removeCommitted(this.meta, ids, (m, id) => this.drop(m, id));
  }

  private drop(m: SnapshotMeta, id: SnapshotId): void {
    if (m.flat !== undefined) this.safeRemoveDir(this.meta.dir(m.flat));
    this.safeRemoveDir(this.meta.dir(id));
  }

  async view(id: SnapshotId, signal?: AbortSignal): Promise<ReadOnlyView> {
    this.meta.committed(id);
    const path = join(this.meta.views, `${process.pid}-${randomBytes(4).toString('hex')}`);
    const lowers = await this.lowers(id, ':empty'.length + 3, signal);
    // a single lowerdir without upperdir is refused by the kernel: pad with the empty layer
    if (lowers.length === 1) lowers.push('empty');
    mkdirSync(path);
    try {
      await mountOverlay(path, `ro,lowerdir=${lowers.join(':')}`, this.meta.snapshots);
    } catch (e) {
      rmSync(path, { recursive: true, force: true });
      throw e;
    }
    let released = false;
    const v: ReadOnlyView = {
      path,
      release: async () => {
        if (released) return;
        released = true;
        this.views.delete(path);
        if (isMounted(path)) await unmount(path);
        rmSync(path, { recursive: true, force: true });
      },
    };
    this.views.set(path, v);
    return v;
  }

  async importLayer(parent: SnapshotId | null, apply: ApplyToDir, signal?: AbortSignal): Promise<SnapshotId> {
    aborted(signal);
    if (parent !== null) this.meta.committed(parent);
    const id = this.meta.create({ parent, state: 'active', pid: process.pid });
    try {
      await apply(join(this.meta.dir(id), 'fs'), 'overlay', signal);
      aborted(signal);
    } catch (e) {
      this.safeRemoveDir(this.meta.dir(id));
      this.meta.forget(id);
      throw e;
    }
    this.meta.commit(id, { parent, pid: process.pid });
    return id;
  }

  async releaseAll(): Promise<void> {
    const errors: unknown[] = [];
    for (const s of [...this.active.values(), ...this.views.values()]) {
      await s.release().catch((e: unknown) => errors.push(e));
    }
    if (errors.length > 0) throw errors[0];
  }

  async cleanupStale(): Promise<string[]> {
    return cleanupStaleState(this.meta, (m) => m.state === 'active' && !pidAlive(m.pid));
  }

  /** Removes a snapshot dir, refusing to recurse into anything still mounted below it. */
  private safeRemoveDir(dir: string): void {
    if (mountsUnder(dir).length > 0) throw new KilnError('INTERNAL', `refusing to delete ${dir}: something is mounted below it`);
    removeTree(dir);
  }
}

/** Shared by both backends' removeMany: `drop` deletes one snapshot's files. */
export function removeCommitted(meta: MetaStore, ids: readonly SnapshotId[], drop: (m: SnapshotMeta, id: SnapshotId) => void): SnapshotId[] {
  const kids = meta.childMap();
  const removed: SnapshotId[] = [];
  for (const id of ids) {
    const m = meta.tryRead(id);
    if (m?.state !== 'committed' || (kids.get(id)?.size ?? 0) > 0) continue;
    try {
      drop(m, id);
    } catch {
      continue; // e.g. something still mounted below it: left for a later prune
    }
    if (m.parent !== null) kids.get(m.parent)?.delete(id);
    removed.push(id);
  }
  return removed;
}

/**
 * Shared crash cleanup: unmounts stale views and mounts of dead processes' active snapshots,
 * then deletes those snapshots, views and dirs without metadata.
 */
export async function cleanupStaleState(meta: MetaStore, isStale: (m: SnapshotMeta) => boolean): Promise<string[]> {
  const cleaned: string[] = [];
  const staleView = (name: string): boolean => {
    const pid = Number(/^(\d+)-/.exec(name)?.[1] ?? NaN);
    return Number.isNaN(pid) || !pidAlive(pid);
  };
  for (const name of readdirSync(meta.views)) {
    if (!staleView(name)) continue;
    const p = join(meta.views, name);
    cleaned.push(...(await unmountAllUnder(p)));
    removeTree(p);
    cleaned.push(p);
  }
  // every snapshot once per boot (stores made before active/ existed, snapshots a reboot made
  // untrustworthy: durability.ts); otherwise only those that may be half made
  const scanned = bootFile(meta.root, 'scanned');
  const full = BOOT_ID === '' || !existsSync(scanned);
  for (const id of full ? meta.ids() : meta.activeIds()) {
    const m = meta.tryRead(id);
    if (m !== undefined && !isStale(m)) {
      if (m.state === 'committed') meta.forget(id);
      continue;
    }
    const dir = meta.dir(id);
    let age: number;
    try {
      age = Date.now() - statSync(dir).mtimeMs;
    } catch {
      // removed without its marker (or not made yet: give the maker a minute)
      if (Date.now() - (statSync(join(meta.active, id), { throwIfNoEntry: false })?.mtimeMs ?? 0) >= 60_000) meta.forget(id);
      continue;
    }
    // no meta.json yet: maybe another process is creating it right now; only old ones are debris
    if (m === undefined && age < 60_000) continue;
    cleaned.push(...(await unmountAllUnder(dir)));
    removeTree(dir);
    meta.forget(id);
    cleaned.push(id);
  }
  if (full && BOOT_ID !== '') writeFileSync(scanned, '');
  return cleaned;
}
