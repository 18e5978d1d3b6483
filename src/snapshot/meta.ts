// On-disk bookkeeping shared by both backends. Layout under the snapshotter's root:
//   snapshots/<id>/meta.json   { parent, state: 'active'|'committed', pid, flat? }
//   snapshots/<id>/fs          overlay: the layer dir (upperdir); copy: the full tree
//   snapshots/<id>/work        overlay workdir      (active overlay snapshots only)
//   snapshots/<id>/merged      overlay mount point  (active overlay snapshots only)
//   snapshots/empty            an empty lower layer (overlay needs at least one lowerdir)
//   views/<pid>-<random>       read-only mounts (COPY --from)
//   active/<id>                made before the snapshot's dir, removed when it is committed or
//                              removed: what a crash can leave behind, so the cleanup at the
//                              start of every build reads these few instead of every meta.json
//                              (a full scan runs once per boot: scanned-<boot>)
// Ids are 8 hex digits, short on purpose: overlay lowerdir options list `<id>/fs` per layer.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { KilnError } from '../errors.js';
import type { SnapshotId } from './types.js';
import { Durability, stamp } from './durability.js';
import { replaceFile } from '../support/index.js';

export interface SnapshotMeta {
  readonly parent: SnapshotId | null;
  readonly state: 'active' | 'committed';
  /** The process that created (or is still writing) the snapshot. */
  readonly pid: number;
  /** overlay: a flattened copy of this snapshot and all its parents (see overlay.ts). */
  readonly flat?: SnapshotId;
  /** overlay: this snapshot is the flattened copy of that one. */
  readonly flatOf?: SnapshotId;
  /** Committed snapshots: the boot and time of the commit (durability.ts). */
  readonly boot?: string;
  readonly t?: string;
}

const ID = /^[0-9a-f]{8}$/;

export function isSnapshotId(s: string): boolean {
  return ID.test(s);
}

export class MetaStore {
  readonly root: string;
  readonly snapshots: string;
  readonly views: string;
  readonly active: string;
  readonly durability: Durability;

  constructor(root: string) {
    this.root = resolve(root);
    this.durability = new Durability(this.root);
    this.snapshots = join(this.root, 'snapshots');
    this.views = join(this.root, 'views');
    this.active = join(this.root, 'active');
    mkdirSync(join(this.snapshots, 'empty'), { recursive: true, mode: 0o755 });
    mkdirSync(this.views, { recursive: true, mode: 0o700 });
    mkdirSync(this.active, { recursive: true, mode: 0o700 });
  }

  dir(id: SnapshotId): string {
    return join(this.snapshots, id);
  }

  /** Creates the dir of a new snapshot (with its meta.json) and returns the new id. */
  create(meta: SnapshotMeta): SnapshotId {
    for (;;) {
      const id = randomBytes(4).toString('hex');
      if (existsSync(this.dir(id))) continue;
      try {
        writeFileSync(join(this.active, id), '', { flag: 'wx' });
      } catch {
        continue; // another process picked the same id just now
      }
      mkdirSync(join(this.dir(id), 'fs'), { recursive: true, mode: 0o755 });
      this.write(id, meta);
      return id;
    }
  }

  /** The snapshot is committed or gone: a crash can no longer leave it half made. */
  forget(id: SnapshotId): void {
    rmSync(join(this.active, id), { force: true });
  }

  /** Snapshots that may be half made (see `active/` above). */
  activeIds(): SnapshotId[] {
    return readdirSync(this.active).filter(isSnapshotId);
  }

  write(id: SnapshotId, meta: SnapshotMeta): void {
    replaceFile(join(this.dir(id), 'meta.json'), JSON.stringify(meta));
  }

  /**
   * Marks a snapshot committed, stamped with this boot (its files need not be on disk yet: see
   * durability.ts); this process will start a background sync when it exits.
   */
  commit(id: SnapshotId, meta: Omit<SnapshotMeta, 'state' | 'boot' | 't'>): void {
    this.write(id, { ...meta, state: 'committed', ...stamp() });
    this.forget(id);
    this.durability.committed();
  }

  /**
   * The snapshot's meta; undefined when there is none, or when it was committed in an earlier
   * boot and no sync covered it (its files may be lost: it counts as debris).
   */
  tryRead(id: SnapshotId): SnapshotMeta | undefined {
    if (!isSnapshotId(id)) return undefined;
    let m: SnapshotMeta;
    try {
      m = JSON.parse(readFileSync(join(this.dir(id), 'meta.json'), 'utf8')) as SnapshotMeta;
    } catch {
      return undefined;
    }
    return this.durability.counts(m) ? m : undefined;
  }

  read(id: SnapshotId): SnapshotMeta {
    const m = this.tryRead(id);
    if (m === undefined) throw new KilnError('INTERNAL', `snapshot ${id} does not exist`);
    return m;
  }

  committed(id: SnapshotId): SnapshotMeta {
    const m = this.read(id);
    if (m.state !== 'committed') throw new KilnError('INTERNAL', `snapshot ${id} is not committed`);
    return m;
  }

  /** Ids of every snapshot dir (with or without a readable meta.json). */
  ids(): SnapshotId[] {
    return readdirSync(this.snapshots).filter(isSnapshotId);
  }

  /** Ids of snapshots whose parent is `id`. */
  children(id: SnapshotId): SnapshotId[] {
    return this.ids().filter((c) => this.tryRead(c)?.parent === id);
  }

  /** parent → children of every snapshot, from one read of each meta.json. */
  childMap(): Map<SnapshotId, Set<SnapshotId>> {
    const out = new Map<SnapshotId, Set<SnapshotId>>();
    for (const c of this.ids()) {
      const p = this.tryRead(c)?.parent;
      if (p === undefined || p === null) continue;
      let set = out.get(p);
      if (set === undefined) out.set(p, (set = new Set()));
      set.add(c);
    }
    return out;
  }
}

export { pidAlive } from '../support/index.js';
