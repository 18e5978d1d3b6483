// The portable fallback snapshotter, for hosts without overlayfs: every snapshot is a full tree.
// prepare copies the parent tree (cp -a, reflinks where the filesystem has them); diff is a
// walk-compare of the tree against its parent's. Slower and bigger than overlay, same results.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError } from '../errors.js';
import { output, removeTree } from '../support/index.js';
import { treeDiff } from './diff.js';
import { MetaStore, pidAlive } from './meta.js';
import { cleanupStaleState, removeCommitted } from './overlay.js';
import type { ActiveSnapshot, ApplyToDir, ReadOnlyView, SnapshotDiff, SnapshotId, Snapshotter } from './types.js';

function aborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new KilnError('ABORTED', 'snapshot preparation aborted');
}

export class CopySnapshotter implements Snapshotter {
  readonly backend = 'copy' as const;
  readonly root: string;
  private readonly meta: MetaStore;
  private readonly active = new Map<SnapshotId, ActiveSnapshot>();

  constructor(root: string) {
    this.meta = new MetaStore(root);
    this.root = this.meta.root;
  }

  parent(id: SnapshotId): SnapshotId | null {
    return this.meta.read(id).parent;
  }

  private fs(id: SnapshotId): string {
    return join(this.meta.dir(id), 'fs');
  }

  private async create(parent: SnapshotId | null, signal?: AbortSignal): Promise<SnapshotId> {
    aborted(signal);
    if (parent !== null) this.meta.committed(parent);
    const id = this.meta.create({ parent, state: 'active', pid: process.pid });
    try {
      if (parent !== null) {
        await output('cp', ['-a', '--reflink=auto', '--', `${this.fs(parent)}/.`, this.fs(id)], { signal });
        aborted(signal);
      }
    } catch (e) {
      removeTree(this.meta.dir(id));
      this.meta.forget(id);
      if (signal?.aborted) throw new KilnError('ABORTED', 'snapshot preparation aborted');
      throw new KilnError('IO', `cannot copy snapshot ${parent}: ${(e as Error).message}`, { cause: e });
    }
    return id;
  }

  async prepare(parent: SnapshotId | null, signal?: AbortSignal): Promise<ActiveSnapshot> {
    const id = await this.create(parent, signal);
    let released = false;
    const snap: ActiveSnapshot = {
      id,
      rootfs: this.fs(id),
      release: async () => {
        if (released) return;
        released = true;
        this.active.delete(id);
        removeTree(this.meta.dir(id));
        this.meta.forget(id);
      },
    };
    this.active.set(id, snap);
    return snap;
  }

  async commit(active: ActiveSnapshot): Promise<SnapshotId> {
    const m = this.meta.read(active.id);
    if (m.state !== 'active' || !this.active.has(active.id)) throw new KilnError('INTERNAL', `snapshot ${active.id} is not active here`);
    this.active.delete(active.id);
    this.meta.commit(active.id, { parent: m.parent, pid: process.pid });
    return active.id;
  }

  async diff(snapshot: ActiveSnapshot | SnapshotId): Promise<SnapshotDiff> {
    const id = typeof snapshot === 'string' ? snapshot : snapshot.id;
    const m = this.meta.read(id);
    return { root: this.fs(id), changes: treeDiff(this.fs(id), m.parent === null ? null : this.fs(m.parent)) };
  }

  async remove(id: SnapshotId): Promise<void> {
    this.meta.committed(id);
    const children = this.meta.children(id);
    if (children.length > 0) throw new KilnError('INTERNAL', `snapshot ${id} still has children (${children.join(', ')})`);
    removeTree(this.meta.dir(id));
  }

  async removeMany(ids: readonly SnapshotId[]): Promise<SnapshotId[]> {
    return removeCommitted(this.meta, ids, (_m, id) => removeTree(this.meta.dir(id)));
  }

  /** The committed tree itself: nothing to mount (callers only read it). */
  async view(id: SnapshotId): Promise<ReadOnlyView> {
    this.meta.committed(id);
    return { path: this.fs(id), release: async () => undefined };
  }

  async importLayer(parent: SnapshotId | null, apply: ApplyToDir, signal?: AbortSignal): Promise<SnapshotId> {
    const id = await this.create(parent, signal);
    try {
      mkdirSync(this.fs(id), { recursive: true });
      await apply(this.fs(id), 'delete', signal);
      aborted(signal);
    } catch (e) {
      removeTree(this.meta.dir(id));
      this.meta.forget(id);
      throw e;
    }
    this.meta.commit(id, { parent, pid: process.pid });
    return id;
  }

  async releaseAll(): Promise<void> {
    for (const s of [...this.active.values()]) await s.release();
  }

  async cleanupStale(): Promise<string[]> {
    return cleanupStaleState(this.meta, (m) => m.state === 'active' && !pidAlive(m.pid));
  }
}
