// Reusing the files of the previous run of the same COPY (issue #6: a one-file change in a
// 20k-file context). When a COPY from the context misses the cache because some files changed,
// and the step's previous result sits on the same parent snapshot with the same definition, the
// new layer dir is seeded before it is mounted: the directories that result had are made again
// (with its metadata), and every regular file whose source is unchanged (same mode and content
// digest as recorded in the previous cache record) is hard-linked from it. The copier then
// treats those directories as made by itself and skips those files (Copier's `reuse`); what
// changed, appeared or moved is copied as usual.
//
// Why the result equals a fresh copy: the same parent and definition resolve every match to the
// same target, so a file lands where it landed last time, with the owner and mode a fresh copy
// would give it (--chown/--chmod are part of the definition; a file's xattrs are in its digest).
// The one difference is a file whose content and mode did not change but whose mtime did: it
// keeps the old mtime. The cache key ignores mtimes too (as BuildKit's does), so a build where
// nothing else changed would have reused that old file whole.
//
// Sharing inodes with a committed snapshot is safe because committed layer dirs are never
// written in place: later steps see them as overlay lowers (copy-up), and the copier only ever
// unlinks an existing file before writing a new one. Guards: only sources with one link (the
// copier's own hard-link pairs are made again by it), each inode of the previous layer reused at
// most once, a destination written by two sources is never reused, and a previous file must be a
// regular file of the source's size.
import { chmodSync, linkSync, lchownSync, lstatSync, mkdirSync, type BigIntStats } from 'node:fs';
import type { Input } from './inputs.js';
import type { Entry } from './select.js';
import { lutimesNs } from '../../support/index.js';

/** Where one local match of a COPY landed: the root-relative path it became ('' = /). */
export interface CopyTarget {
  /** The match's path in the source tree. */
  readonly rel: string;
  readonly dir: boolean;
  readonly target: string;
  /** A directory match: whether the copy made its target (it did not exist before). */
  readonly created: boolean;
}

/** What a seeded layer holds, as root-relative paths (see Copier's `reuse` option). */
export interface ReusedFiles {
  /** Regular files linked from the previous result: the copier leaves them alone. */
  readonly files: Set<string>;
  /** Directories made for them: the copier treats them as its own new directories. */
  readonly dirs: Set<string>;
}

export interface SeedInputs {
  readonly inputs: readonly Input[];
  /** Targets of the previous run (its cache record); must describe the same matches. */
  readonly targets: readonly CopyTarget[];
  /** Source root the entries' `abs` paths start with (the context dir). */
  readonly srcRoot: string;
  /** Previous and current digests of the files read: context path → `mode:digest`. */
  readonly before: Readonly<Record<string, string>>;
  readonly now: ReadonlyMap<string, string>;
}

/**
 * Whether the inputs are the same matches as those the targets were recorded for, landing in
 * separate places (two sources merging into one directory are left to the copier).
 */
export function sameMatches(inputs: readonly Input[], targets: readonly CopyTarget[]): boolean {
  if (inputs.length !== targets.length) return false;
  if (!inputs.every((i, n) => i.kind === 'local' && i.match.rel === targets[n]!.rel && i.match.st.isDirectory() === targets[n]!.dir)) return false;
  if (targets.length === 1) return true;
  const all = new Set(targets.map((t) => t.target));
  if (all.size !== targets.length || all.has('')) return false;
  for (const t of targets) {
    for (let i = t.target.indexOf('/'); i > 0; i = t.target.indexOf('/', i + 1)) if (all.has(t.target.slice(0, i))) return false;
  }
  return true;
}

function lstatOr(p: string): BigIntStats | undefined {
  try {
    return lstatSync(p, { bigint: true });
  } catch {
    return undefined;
  }
}

/**
 * mkdir `dst` with the owner and mode in `st` (times: see cloneTimes). No xattrs: the copier
 * gives the directory its source's when it closes it, and one copied from the previous result
 * would stay after the source dropped it (the copier only adds).
 */
function cloneDir(st: BigIntStats, dst: string): void {
  mkdirSync(dst);
  lchownSync(dst, Number(st.uid), Number(st.gid));
  chmodSync(dst, Number(st.mode) & 0o7777);
}

/**
 * Seeds `layer` (an empty layer dir, not mounted) from `prev` (the previous result's layer dir);
 * returns what it put there. Nothing is seeded when the matches differ.
 */
export function seedLayer(layer: string, prev: string, s: SeedInputs): ReusedFiles {
  const out: ReusedFiles = { files: new Set(), dirs: new Set() };
  if (!sameMatches(s.inputs, s.targets)) return out;
  const prefix = s.srcRoot.endsWith('/') ? s.srcRoot : `${s.srcRoot}/`;
  const dstOf = (target: string, e: Entry): string => (e.rel === '' ? target : target === '' ? e.rel : `${target}/${e.rel}`);
  // destinations written more than once (two sources, or a file and its replacement) are not reused
  const writes = new Map<string, number>();
  s.inputs.forEach((input, n) => {
    if (input.kind !== 'local') return;
    for (const e of input.entries) if (e.kind === 'leaf') {
      const d = dstOf(s.targets[n]!.target, e);
      writes.set(d, (writes.get(d) ?? 0) + 1);
    }
  });
  const times: { dst: string; st: BigIntStats }[] = [];
  const usedInodes = new Set<bigint>();
  const made = new Set<string>();
  /** Makes directory `rel` in the layer as the previous result had it; false when it had none. */
  const dir = (rel: string): boolean => {
    if (rel === '' || made.has(rel)) return true;
    const st = lstatOr(`${prev}/${rel}`);
    if (!st?.isDirectory()) return false;
    cloneDir(st, `${layer}/${rel}`);
    times.push({ dst: `${layer}/${rel}`, st });
    made.add(rel);
    return true;
  };
  s.inputs.forEach((input, n) => {
    if (input.kind !== 'local') return;
    const { target, created } = s.targets[n]!;
    // the target's ancestors, as far as the previous layer has them (overlay copied them up)
    const parts = target === '' ? [] : target.split('/');
    let parentOk = true;
    for (let i = 1; i < parts.length && parentOk; i++) parentOk = dir(parts.slice(0, i).join('/'));
    const stack: boolean[] = [];
    for (const e of input.entries) {
      const inDir = stack.length > 0 ? stack[stack.length - 1]! : parentOk;
      if (e.kind === 'close') {
        stack.pop();
        continue;
      }
      const d = dstOf(target, e);
      if (e.kind === 'open') {
        const ok = inDir && dir(d);
        // the copier finishes these as directories it made (owner, mode, times from the source);
        // a target that existed before the copy keeps its own metadata, as in a fresh copy
        if (ok && d !== '' && (e.rel !== '' || created)) out.dirs.add(d);
        stack.push(ok);
        continue;
      }
      if (!inDir || !e.st.isFile() || e.st.nlink !== 1n || writes.get(d) !== 1) continue;
      const ctx = e.abs.startsWith(prefix) ? e.abs.slice(prefix.length) : undefined;
      const was = ctx !== undefined && Object.hasOwn(s.before, ctx) ? s.before[ctx] : undefined; // a file may be named __proto__
      if (was === undefined || was !== s.now.get(ctx!)) continue;
      const old = lstatOr(`${prev}/${d}`);
      if (!old?.isFile() || old.size !== e.st.size || usedInodes.has(old.ino)) continue;
      usedInodes.add(old.ino);
      linkSync(`${prev}/${d}`, `${layer}/${d}`);
      out.files.add(d);
    }
  });
  // deepest first: setting a directory's times after its children were made
  for (let i = times.length - 1; i >= 0; i--) lutimesNs(times[i]!.dst, times[i]!.st.atimeNs, times[i]!.st.mtimeNs);
  return out;
}
