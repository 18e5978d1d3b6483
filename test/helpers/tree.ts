// Exact tree comparison for round-trip tests (import → export → unpack by another tool): every
// path's type, mode, uid/gid, size, content sha256, symlink target, hardlink grouping, device
// numbers and xattrs (binary-safe), via layer-tree.ts's describeTree (lstat + readlink + xattrs).
import assert from 'node:assert/strict';
import { describeTree } from './layer-tree.js';

export interface CompareOptions {
  /** Compare mtimes (seconds) too (default true). */
  readonly mtimes?: boolean;
  /** Paths (relative, no leading '/') to leave out of both sides. */
  readonly ignore?: readonly string[];
}

/** One line per path under `root` (the root itself is left out: archives have no entry for it). */
export function treeLines(root: string, opts: CompareOptions = {}): string[] {
  const ignore = new Set(opts.ignore ?? []);
  return describeTree(root, { mtimes: opts.mtimes ?? true })
    .slice(1)
    .filter((l) => !ignore.has(l.slice(0, l.indexOf(' '))));
}

/** The lines that differ between two trees, `-` for `expected` only and `+` for `actual` only. */
export function treeDiff(actual: string, expected: string, opts: CompareOptions = {}): string[] {
  const a = treeLines(actual, opts);
  const e = treeLines(expected, opts);
  const as = new Set(a);
  const es = new Set(e);
  return [...e.filter((l) => !as.has(l)).map((l) => `- ${l}`), ...a.filter((l) => !es.has(l)).map((l) => `+ ${l}`)];
}

/** Fails listing the differing lines when the trees differ. */
export function assertSameTree(actual: string, expected: string, opts: CompareOptions = {}): void {
  const d = treeDiff(actual, expected, opts);
  assert.deepEqual(d, [], `trees differ:\n${d.slice(0, 40).join('\n')}`);
  assert.ok(treeLines(expected, opts).length > 0, 'the expected tree is not empty');
}
