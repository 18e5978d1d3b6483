// Sizes for the report at the end of `kiln build`: the final image (compressed and uncompressed,
// layer by layer, base-image layers as one group) and every intermediate stage's root filesystem
// with the part of it the final image does not ship. A snapshot's size is the sum of the sizes
// of the files its diff adds or modifies (what `docker history` shows per layer; a file replaced
// in a later layer counts in both, as in Docker). Committed snapshots never change, so each size
// is measured once and remembered in <stateDir>/sizes.json (a lost update only costs a re-measure).
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import type { BuildPlan, PlannedStage } from '../plan/index.js';
import type { SnapshotId, Snapshotter } from '../snapshot/index.js';
import type { BuildResult } from './engine.js';
import { shortRef } from './explain.js';
import { replaceFile } from '../support/index.js';

export interface SnapshotSize {
  /** Bytes of the regular files and symlinks the snapshot's diff adds or modifies. */
  readonly bytes: number;
  /** Number of changes (0: the step changed nothing, so it has no layer). */
  readonly changes: number;
}

export interface LayerSizeLine {
  /** `FROM node:20-slim` for the grouped base layers, else the history's created_by. */
  readonly createdBy: string;
  /** Layers in this line (1 for a step). */
  readonly layers: number;
  readonly compressed: number;
  /** undefined when it could not be measured. */
  readonly uncompressed?: number;
  readonly base: boolean;
}

export interface StageSizeLine {
  readonly name: string;
  /** `node:20`, `stage builder`, `scratch`. */
  readonly from: string;
  /** Size of the stage's root filesystem (its base included). */
  readonly bytes: number;
  /** The part of it the final image does not contain (bytes when nothing is shared). */
  readonly notShipped: number;
}

export interface SizeReport {
  readonly target: string;
  readonly compressed: number;
  /** undefined when a layer could not be measured. */
  readonly uncompressed?: number;
  readonly layers: readonly LayerSizeLine[];
  /** Stages built but not the target, in Dockerfile order. */
  readonly stages: readonly StageSizeLine[];
  /** Time spent measuring (ms) and snapshots measured now (not remembered). */
  readonly cost: { readonly ms: number; readonly measured: number };
}

/** Remembered snapshot sizes (one JSON file, replaced atomically). */
class SizeMemo {
  private readonly file: string;
  private data: Record<string, SnapshotSize> = {};
  private dirty = false;

  constructor(stateDir: string) {
    this.file = join(stateDir, 'sizes.json');
    try {
      this.data = JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, SnapshotSize>;
    } catch {
      this.data = {};
    }
  }

  get(id: SnapshotId): SnapshotSize | undefined {
    return this.data[id];
  }

  set(id: SnapshotId, s: SnapshotSize): void {
    this.data[id] = s;
    this.dirty = true;
  }

  /** Writes the memo, keeping only the snapshots that still exist. */
  save(exists: (id: SnapshotId) => boolean): void {
    if (!this.dirty) return;
    const kept: Record<string, SnapshotSize> = {};
    for (const [id, s] of Object.entries(this.data)) if (exists(id)) kept[id] = s;
    try {
      mkdirSync(join(this.file, '..'), { recursive: true });
      replaceFile(this.file, JSON.stringify(kept));
    } catch {
      /* only a speed-up */
    }
  }
}

/** Sum of the sizes of what lies under `dir` (directories not counted, hard links once); entries seen. */
function walkSize(dir: string, inodes: Set<string>): { bytes: number; entries: number } {
  let bytes = 0;
  let entries = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    entries++;
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      const r = walkSize(p, inodes);
      bytes += r.bytes;
      entries += r.entries;
      continue;
    }
    const st = lstatSync(p, { bigint: true });
    if (st.nlink > 1n) {
      const k = `${st.dev}:${st.ino}`;
      if (inodes.has(k)) continue;
      inodes.add(k);
    }
    bytes += Number(st.size);
  }
  return { bytes, entries };
}

/**
 * Measures one committed snapshot. overlay: a walk of its own layer dir (`snapshots/<id>/fs`,
 * the layout in snapshot/meta.ts) — 10-20x faster than diff(), which looks every path up in the
 * lower layers; whiteouts count 0. copy backend: the files diff() reports added or modified.
 */
export async function measureSnapshot(snapshotter: Snapshotter, id: SnapshotId): Promise<SnapshotSize> {
  if (snapshotter.backend === 'overlay') {
    const dir = join(snapshotter.root, 'snapshots', id, 'fs');
    if (existsSync(dir)) {
      const r = walkSize(dir, new Set());
      return { bytes: r.bytes, changes: r.entries };
    }
  }
  const diff = await snapshotter.diff(id);
  let bytes = 0;
  const inodes = new Set<string>();
  for (const c of diff.changes) {
    if (c.kind === 'delete') continue;
    let st;
    try {
      st = lstatSync(join(diff.root, c.path), { bigint: true });
    } catch {
      continue;
    }
    if (st.isDirectory()) continue;
    if (st.nlink > 1n) {
      const k = `${st.dev}:${st.ino}`;
      if (inodes.has(k)) continue;
      inodes.add(k);
    }
    bytes += Number(st.size);
  }
  return { bytes, changes: diff.changes.length };
}

/** The snapshot chain below and including `top`, oldest first. */
function chainOf(snapshotter: Snapshotter, top: SnapshotId | null): SnapshotId[] {
  const out: SnapshotId[] = [];
  for (let cur = top; cur !== null; cur = snapshotter.parent(cur)) out.push(cur);
  return out.reverse();
}

/** Where a stage's filesystem comes from, following FROM <stage> to an image or scratch. */
function stageOrigin(plan: BuildPlan, ps: PlannedStage): { ref: string; direct: string } {
  const byIndex = new Map(plan.stages.map((s) => [s.index, s]));
  const direct = ps.base.kind === 'image' ? shortRef(ps.base.image.ref) : ps.base.kind === 'scratch' ? 'scratch' : ps.base.kind === 'local' ? `context ${ps.base.name}` : `stage ${byIndex.get(ps.base.stage)?.name ?? ps.base.stage}`;
  let cur: PlannedStage | undefined = ps;
  for (let guard = 0; cur && guard < 1000; guard++) {
    if (cur.base.kind === 'image') return { ref: shortRef(cur.base.image.ref), direct };
    if (cur.base.kind === 'scratch') return { ref: 'scratch', direct };
    if (cur.base.kind === 'local') return { ref: `context ${cur.base.name}`, direct };
    cur = byIndex.get(cur.base.stage);
  }
  return { ref: '?', direct };
}

/** Sizes of the final image and of every intermediate stage of a finished build. */
export async function computeSizeReport(result: BuildResult, plan: BuildPlan, snapshotter: Snapshotter, stateDir: string): Promise<SizeReport> {
  const t0 = performance.now();
  const memo = new SizeMemo(stateDir);
  let measured = 0;
  const sizeOf = async (id: SnapshotId): Promise<SnapshotSize> => {
    const known = memo.get(id);
    if (known) return known;
    const s = await measureSnapshot(snapshotter, id);
    memo.set(id, s);
    measured++;
    return s;
  };
  const sum = async (ids: readonly SnapshotId[]): Promise<number> => {
    let n = 0;
    for (const id of ids) n += (await sizeOf(id)).bytes;
    return n;
  };

  const target = result.target;
  const targetChain = chainOf(snapshotter, target.snapshot);
  const inTarget = new Set(targetChain);
  const stepSnaps = new Set<SnapshotId>();
  for (const p of target.parts) if (p.kind === 'step') stepSnaps.add(p.snapshot);
  const baseSnaps = targetChain.filter((id) => !stepSnaps.has(id));

  // final image: the assembled layers are base layers first, then one per step that changed files
  const imgLayers = result.image.layers;
  const baseCount = target.parts.filter((p) => p.kind === 'base-layer').length;
  const lines: LayerSizeLine[] = [];
  let unknown = false;
  if (baseCount > 0) {
    const compressed = imgLayers.slice(0, baseCount).reduce((a, l) => a + l.descriptor.size, 0);
    const ps = plan.stages.find((s) => s.index === target.index);
    const ref = ps ? stageOrigin(plan, ps).ref : '?';
    const line: LayerSizeLine = { createdBy: `FROM ${ref}`, layers: baseCount, compressed, base: true };
    if (baseSnaps.length === baseCount) lines.push({ ...line, uncompressed: await sum(baseSnaps) });
    else {
      lines.push(line);
      unknown = true;
    }
  }
  // A step that changed nothing has no layer (empty_layer): steps and layers pair up by created_by.
  let li = baseCount;
  for (const p of target.parts) {
    if (p.kind !== 'step') continue;
    const layer = imgLayers[li];
    if (layer === undefined || layer.createdBy !== (p.history.created_by ?? '')) continue;
    li++;
    const s = await sizeOf(p.snapshot);
    lines.push({ createdBy: layer.createdBy, layers: 1, compressed: layer.descriptor.size, uncompressed: s.bytes, base: false });
  }
  if (li !== imgLayers.length) {
    // the parts and the image disagree (should not happen): report the image's layers as they are
    lines.length = 0;
    unknown = true;
    for (const l of imgLayers) {
      lines.push({ createdBy: l.createdBy, layers: 1, compressed: l.descriptor.size, ...(l.uncompressedSize !== undefined ? { uncompressed: l.uncompressedSize } : {}), base: l.createdBy === '(base image)' });
    }
  }

  const stages: StageSizeLine[] = [];
  const planned = new Map(plan.stages.map((s) => [s.index, s]));
  for (const o of [...result.stages].sort((a, b) => a.index - b.index)) {
    if (o.index === target.index) continue;
    const chain = chainOf(snapshotter, o.snapshot);
    const bytes = await sum(chain);
    const shipped = await sum(chain.filter((id) => inTarget.has(id)));
    const ps = planned.get(o.index);
    stages.push({ name: o.name, from: ps ? stageOrigin(plan, ps).direct : '?', bytes, notShipped: bytes - shipped });
  }

  memo.save((id) => {
    try {
      snapshotter.parent(id);
      return true;
    } catch {
      return false;
    }
  });
  const compressed = imgLayers.reduce((a, l) => a + l.descriptor.size, 0);
  const uncompressed = unknown || lines.some((l) => l.uncompressed === undefined) ? undefined : lines.reduce((a, l) => a + (l.uncompressed ?? 0), 0);
  return {
    target: target.name,
    compressed,
    ...(uncompressed !== undefined ? { uncompressed } : {}),
    layers: lines,
    stages,
    cost: { ms: performance.now() - t0, measured },
  };
}
