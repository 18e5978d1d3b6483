// The Snapshotter contract (docs/design/layout.md §6.4) shared by the overlay and copy backends.
import type { Change } from '../layer/index.js';

export type SnapshotId = string;

/** A writable rootfs being prepared for one step (a RUN, a COPY); commit or release it. */
export interface ActiveSnapshot {
  readonly id: SnapshotId;
  /** Absolute path of the root filesystem to run in / copy into. */
  readonly rootfs: string;
  /** Discards the snapshot: unmounts it and removes its files. Idempotent. */
  release(): Promise<void>;
}

/** A read-only view of a committed snapshot (e.g. for COPY --from). */
export interface ReadOnlyView {
  readonly path: string;
  release(): Promise<void>;
}

/**
 * The changes of one step, for the layer writer: `changes` name paths relative to `root`, from
 * which the writer reads the content and metadata of every add/modify.
 */
export interface SnapshotDiff {
  readonly root: string;
  readonly changes: readonly Change[];
}

/**
 * How a layer applier must express deletions in the directory it extracts into:
 * 'overlay' → overlay whiteouts (char device 0/0, `trusted.overlay.opaque=y` dirs), for an
 * upperdir-style layer dir; 'delete' → really delete, for a full tree (copy backend).
 */
export type WhiteoutMode = 'overlay' | 'delete';

/** Extracts one layer into `dir` (layer/'s applyLayer(tarStream, dir, { whiteoutMode }) fits here). */
export type ApplyToDir = (dir: string, whiteoutMode: WhiteoutMode, signal?: AbortSignal) => Promise<void>;

/**
 * Fills the layer dir of a snapshot being prepared before it is mounted, from the layer dir of a
 * committed snapshot on the same parent (build/copy/reuse.ts hard-links unchanged files of the
 * previous run of the same COPY). Whatever it puts there may share inodes with `from`: the step
 * must never write such a file in place (only unlink or replace it).
 */
export interface PrepareSeed {
  readonly from: SnapshotId;
  fill(layer: string, fromLayer: string): void;
}

export interface Snapshotter {
  readonly backend: 'overlay' | 'copy';
  /** The state dir this snapshotter owns. */
  readonly root: string;
  /**
   * A writable rootfs on top of committed snapshot `parent` (null: empty). `seed` (overlay only,
   * and only when `seed.from` is a committed child of `parent`) fills the new layer first;
   * `seeded` says whether it ran.
   */
  prepare(parent: SnapshotId | null, signal?: AbortSignal, seed?: PrepareSeed): Promise<ActiveSnapshot & { readonly seeded?: boolean }>;
  /** Freezes an active snapshot (unmounting it); its id becomes a committed snapshot id. */
  commit(active: ActiveSnapshot): Promise<SnapshotId>;
  /** What the step changed relative to its parent (active or committed snapshot). */
  diff(snapshot: ActiveSnapshot | SnapshotId): Promise<SnapshotDiff>;
  /** Deletes a committed snapshot (refused while another snapshot builds on it). */
  remove(id: SnapshotId): Promise<void>;
  /**
   * Deletes committed snapshots in the order given (children first), skipping any that another
   * snapshot still builds on; returns those deleted. Reads every snapshot's meta once, where
   * `remove` reads them all per call: for pruning, while builds are excluded (activity.ts).
   */
  removeMany(ids: readonly SnapshotId[]): Promise<SnapshotId[]>;
  /** Mounts committed snapshot `id` (with its parents) read-only. */
  view(id: SnapshotId, signal?: AbortSignal): Promise<ReadOnlyView>;
  /** Creates a committed snapshot on `parent` by letting `apply` extract a base-image layer. */
  importLayer(parent: SnapshotId | null, apply: ApplyToDir, signal?: AbortSignal): Promise<SnapshotId>;
  /** Parent of a committed snapshot (null for a bottom one). */
  parent(id: SnapshotId): SnapshotId | null;
  /** Releases every active snapshot and view this instance made (on error/abort paths). */
  releaseAll(): Promise<void>;
  /**
   * Removes what a crashed kiln left: mounts under the state dir, active snapshots and views of
   * processes that no longer run. Call at start. Returns the paths/ids cleaned.
   */
  cleanupStale(): Promise<string[]>;
}
