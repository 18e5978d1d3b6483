// Computing a step's changes, for the layer writer:
//  - overlayDiff: from an overlay upperdir, against the stack of lower layer dirs (whiteouts =
//    char devices 0/0 → delete; trusted.overlay.opaque=y → opaque directory);
//  - treeDiff: walk-compare of two full trees (copy backend).
// A directory is listed when it is new, when its own metadata changed, when it is opaque, or
// when anything below it changed (layer/changes.ts: "a directory whose children changed counts
// as modified"). A directory that was only copied up, with nothing changed, is left out.
import { lstatSync, readlinkSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { getAttributeSync } from 'fs-xattr';
import { compareLayerPaths, type Change } from '../layer/index.js';
import { readdirNames } from '../support/index.js';

const OPAQUE_XATTR = 'trusted.overlay.opaque';

function lst(p: string): BigIntStats | undefined {
  try {
    return lstatSync(p, { bigint: true });
  } catch {
    return undefined;
  }
}

export function isWhiteout(st: BigIntStats): boolean {
  return st.isCharacterDevice() && st.rdev === 0n;
}

export function isOpaqueDir(p: string): boolean {
  try {
    return getAttributeSync(p, OPAQUE_XATTR).toString() === 'y';
  } catch {
    return false;
  }
}

/** The names in `dir` (the tree's `rel`, shown in an error), in layer order. */
function sortedNames(dir: string, rel: string): string[] {
  return readdirNames(dir, `/${rel}`).sort((a, b) => compareLayerPaths(a, b));
}

/** The merged view of a stack of overlay layer dirs (newest first), for lookups only. */
export class LowerStack {
  constructor(readonly layers: readonly string[]) {}

  /** lstat of `rel` as the merged lower view shows it, or undefined when it is not there. */
  lookup(rel: string): BigIntStats | undefined {
    const parts = rel.split('/');
    for (const layer of this.layers) {
      let hiddenBelow = false;
      let cur = layer;
      for (let i = 0; i < parts.length; i++) {
        cur = join(cur, parts[i]!);
        const st = lst(cur);
        if (st === undefined) break;
        if (isWhiteout(st)) return undefined;
        if (i === parts.length - 1) return st;
        if (!st.isDirectory()) return undefined;
        if (isOpaqueDir(cur)) hiddenBelow = true;
      }
      if (hiddenBelow) return undefined;
    }
    return undefined;
  }
}

function sameDirMeta(a: BigIntStats, b: BigIntStats): boolean {
  return a.mode === b.mode && a.uid === b.uid && a.gid === b.gid && a.mtimeNs === b.mtimeNs;
}

/** Changes recorded in an overlay upperdir `upper` over the layer stack `lowers` (newest first). */
export function overlayDiff(upper: string, lowers: readonly string[]): Change[] {
  const lower = new LowerStack(lowers);
  const out: Change[] = [];
  const walk = (rel: string): void => {
    const dir = rel === '' ? upper : join(upper, rel);
    for (const name of sortedNames(dir, rel)) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const abs = join(upper, path);
      const st = lst(abs);
      if (st === undefined) continue;
      const below = lower.lookup(path);
      if (isWhiteout(st)) {
        if (below !== undefined) out.push({ kind: 'delete', path });
        continue;
      }
      if (!st.isDirectory()) {
        out.push({ kind: below === undefined ? 'add' : 'modify', path });
        continue;
      }
      const at = out.length;
      walk(path);
      const childrenChanged = out.length > at;
      let change: Change | undefined;
      if (below === undefined) change = { kind: 'add', path };
      else if (!below.isDirectory()) change = { kind: 'modify', path };
      else if (isOpaqueDir(abs)) change = { kind: 'modify', path, opaque: true };
      else if (childrenChanged || !sameDirMeta(st, below)) change = { kind: 'modify', path };
      if (change) out.splice(at, 0, change);
    }
  };
  walk('');
  return out;
}

function sameEntry(a: BigIntStats, b: BigIntStats, aPath: string, bPath: string): boolean {
  if ((a.mode & 0o170000n) !== (b.mode & 0o170000n)) return false;
  if (a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid) return false;
  if (a.isDirectory()) return a.mtimeNs === b.mtimeNs;
  if (a.isSymbolicLink()) return readlinkSync(aPath, 'buffer').equals(readlinkSync(bPath, 'buffer')) && a.mtimeNs === b.mtimeNs;
  if (a.isCharacterDevice() || a.isBlockDevice()) return a.rdev === b.rdev;
  return a.size === b.size && a.mtimeNs === b.mtimeNs;
}

/** Changes that turn full tree `before` (null: empty) into full tree `after`, by walk-compare. */
export function treeDiff(after: string, before: string | null): Change[] {
  const out: Change[] = [];
  const addAll = (rel: string): void => {
    for (const name of sortedNames(join(after, rel), rel)) {
      const path = `${rel}/${name}`;
      out.push({ kind: 'add', path });
      if (lst(join(after, path))?.isDirectory()) addAll(path);
    }
  };
  const walk = (rel: string): void => {
    const newDir = rel === '' ? after : join(after, rel);
    const oldDir = before === null ? undefined : rel === '' ? before : join(before, rel);
    const newNames = sortedNames(newDir, rel);
    const newSet = new Set(newNames);
    const oldNames = oldDir === undefined ? [] : sortedNames(oldDir, rel);
    const items = [...new Set([...newNames, ...oldNames])].sort((a, b) => compareLayerPaths(a, b));
    for (const name of items) {
      const path = rel === '' ? name : `${rel}/${name}`;
      if (!newSet.has(name)) {
        out.push({ kind: 'delete', path });
        continue;
      }
      const nAbs = join(after, path);
      const st = lst(nAbs)!;
      const oAbs = oldDir === undefined ? undefined : join(oldDir, name);
      const old = oAbs === undefined ? undefined : lst(oAbs);
      if (old === undefined) {
        out.push({ kind: 'add', path });
        if (st.isDirectory()) addAll(path);
        continue;
      }
      if (!st.isDirectory()) {
        if (!sameEntry(st, old, nAbs, oAbs!)) out.push({ kind: 'modify', path });
        continue;
      }
      if (!old.isDirectory()) {
        out.push({ kind: 'modify', path });
        addAll(path);
        continue;
      }
      const at = out.length;
      walk(path);
      if (out.length > at || !sameEntry(st, old, nAbs, oAbs!)) out.splice(at, 0, { kind: 'modify', path });
    }
  };
  walk('');
  return out;
}
