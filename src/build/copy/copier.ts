// Writes walked entries into the destination like fsutil's copier (BuildKit's COPY backend):
// files keep mode, atime/mtime and xattrs; owner is --chown, else 0:0 from the context or the
// source's owner from a stage/image; --chmod replaces the mode of everything copied; hardlinks
// within one source stay hardlinks; a file replaces a file or symlink but never a directory, a
// directory merges into a directory but never replaces a non-directory.
import {
  chmodSync, constants, copyFileSync, lchownSync, linkSync, lstatSync, mkdirSync, readlinkSync,
  symlinkSync, unlinkSync, writeFileSync, type BigIntStats,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import * as xattr from 'fs-xattr';
import { KilnError } from '../../errors.js';
import { lutimesNs, type FileStat } from '../../support/index.js';
import type { ChmodSpec } from './mode.js';
import type { Owner } from './owner.js';
import { lstatOrUndefined } from './paths.js';
import type { ReusedFiles } from './reuse.js';
import type { Entry } from './select.js';

export const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;
const EGID = typeof process.getegid === 'function' ? process.getegid() : 0;
const MKNOD = '/usr/bin/mknod';
const DEFAULT_DIR_MODE = 0o755;

export interface CopierOptions {
  /** The destination rootfs (for messages: paths are shown relative to it). */
  readonly destRoot: string;
  /** --chown, resolved. */
  readonly chown?: Owner | undefined;
  /** Without --chown: keep the source's uid/gid (stage/image sources) or use 0:0 (context, inline, URL). */
  readonly keepSourceOwner: boolean;
  readonly chmod?: ChmodSpec | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Copy extended attributes (not for generated temp files: heredocs, downloads). */
  readonly xattrs: boolean;
  /** What a seeded layer already holds (reuse.ts), as paths relative to destRoot. */
  readonly reuse?: ReusedFiles | undefined;
}

/** S_ISGID when `dir` (just made) got it from a setgid parent, else 0. */
function inheritedSetgid(dir: string): number {
  return lstatSync(dir).mode & 0o2000;
}

function devMajor(rdev: bigint): bigint {
  return ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
}
function devMinor(rdev: bigint): bigint {
  return (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
}

export class Copier {
  /** dev:ino of a multiply-linked source file → where it was first copied (per source, like fsutil). */
  private inodes = new Map<string, string>();
  /** newFileGid's answers; cleared whenever a directory's metadata is set. */
  private readonly dirGid = new Map<string, number>();
  private count = 0;

  constructor(readonly opts: CopierOptions) {}

  /** Path as the user sees it inside the destination. */
  shown(abs: string): string {
    const r = this.opts.destRoot.replace(/\/+$/, '');
    return abs === r ? '/' : abs.startsWith(`${r}/`) ? abs.slice(r.length) : abs;
  }

  /** Starts a new source: hardlinks are only preserved within one source, as in BuildKit. */
  nextSource(): void {
    this.inodes = new Map();
  }

  /**
   * fsutil MkdirAll: creates the missing directories of `abs` (already resolved inside the
   * destination) with mode 0755, owned by --chown. --chmod does not apply to them: Docker 26's
   * BuildKit (the reference here, test/conformance copy-chmod) makes them 0755; newer fsutil
   * (2025) gives them the --chmod bits.
   */
  mkdirAll(abs: string, dirMode?: number): void {
    const st = lstatOrUndefined(abs);
    if (st) {
      if (st.isDirectory()) return;
      throw new KilnError('IO', `cannot create directory ${this.shown(abs)}: a file of that name exists`, {
        hint: 'the destination path runs through an existing file; pick another destination or remove the file first',
      });
    }
    const parent = dirname(abs);
    if (parent !== abs) this.mkdirAll(parent, dirMode);
    const mode = (dirMode ?? DEFAULT_DIR_MODE) & 0o777;
    mkdirSync(abs, mode);
    this.dirGid.clear();
    // no umask; the setgid bit a setgid parent hands down stays, as after BuildKit's MkdirAll
    chmodSync(abs, mode | inheritedSetgid(abs));
    if (this.opts.chown && IS_ROOT) lchownSync(abs, this.opts.chown.uid, this.opts.chown.gid);
  }

  /** Path relative to destRoot, for the `reuse` sets. */
  private rootRel(abs: string): string {
    return abs.slice(this.opts.destRoot.length + 1);
  }

  /**
   * Copies the entries of one match so that the match itself becomes `target`; returns whether
   * the match is a directory this copy made.
   */
  copyEntries(entries: readonly Entry[], target: string): boolean {
    const stack: { created: boolean; existed: boolean; setgid: number; fresh: boolean }[] = [];
    const reuse = this.opts.reuse;
    let top = false;
    for (const e of entries) {
      if ((++this.count & 255) === 0) this.opts.signal?.throwIfAborted();
      const dst = e.rel === '' ? target : `${target}/${e.rel}`;
      const overwrite = e.rel !== '';
      // nothing exists yet inside a directory this copy just created: skip the lookups
      const fresh = stack.length > 0 && stack[stack.length - 1]!.fresh;
      if (e.kind === 'open') {
        if (reuse?.dirs.has(this.rootRel(dst))) {
          // made by the seed as this copy would make it; the files in it are the reused ones, and
          // a path it lacks may still exist in a lower layer: lookups stay on
          if (e.parentOnly) this.fileInfo(e.st, e.abs, dst);
          stack.push({ created: true, existed: false, setgid: e.rel === '' ? lstatSync(dirname(dst)).mode & 0o2000 : 0, fresh: false });
          if (e.rel === '') top = true;
          continue;
        }
        const existed = !fresh && lstatOrUndefined(dst) !== undefined;
        const created = existed ? this.dirOnly(dst, e.st, overwrite) : this.newDir(dst, e.st);
        if (e.parentOnly && created) this.fileInfo(e.st, e.abs, dst);
        // the match's own new directory keeps a setgid bit its parent handed down (BuildKit makes
        // it with MkdirAll; test/conformance copy-setgid-parent)
        stack.push({ created, existed, setgid: created && e.rel === '' ? inheritedSetgid(dst) : 0, fresh: created });
        if (e.rel === '') top = created;
        continue;
      }
      if (e.kind === 'close') {
        const s = stack.pop()!;
        if (e.parentOnly) continue;
        // The destination directory of a directory source keeps the source's mode: like BuildKit,
        // --chmod applies only to what is copied into it.
        if (overwrite || s.created) {
          this.fileInfo(e.st, e.abs, dst, e.rel !== '');
          if (s.setgid !== 0 && (Number(e.st.mode) & 0o2000) === 0) chmodSync(dst, (Number(e.st.mode) & 0o7777) | s.setgid);
        } else if (s.existed) lutimesNs(dst, e.st.atimeNs, e.st.mtimeNs);
        continue;
      }
      if (reuse?.files.has(this.rootRel(dst))) continue; // linked by the seed: never touched
      this.leaf(e.st, e.abs, dst, fresh);
    }
    return top;
  }

  private newDir(dst: string, st: FileStat): true {
    mkdirSync(dst, Number(st.mode) & 0o777);
    return true;
  }

  /** fsutil copyDirectoryOnly: true when the directory was created. */
  private dirOnly(dst: string, st: FileStat, overwrite: boolean): boolean {
    const cur = lstatOrUndefined(dst);
    if (!cur) {
      mkdirSync(dst, Number(st.mode) & 0o777);
      return true;
    }
    if (!cur.isDirectory()) {
      throw new KilnError('IO', `cannot copy to non-directory: ${this.shown(dst)}`, {
        hint: 'a directory is being copied where the destination already has a file or symlink; remove it first or change the destination',
      });
    }
    if (overwrite) {
      this.dirGid.clear();
      chmodSync(dst, Number(st.mode) & 0o7777);
    }
    return false;
  }

  private leaf(st: FileStat, src: string, dst: string, fresh: boolean): void {
    const cur = fresh ? undefined : lstatOrUndefined(dst);
    if (cur) {
      if (cur.isDirectory()) {
        throw new KilnError('IO', `cannot replace to directory ${this.shown(dst)} with file`, {
          hint: 'the destination already has a directory of that name; copy into it (end the destination with /) or remove it first',
        });
      }
      unlinkSync(dst);
    }
    if (st.isFile()) {
      let linked = false;
      if (st.nlink > 1n) {
        const key = `${st.dev}:${st.ino}`;
        const first = this.inodes.get(key);
        if (first !== undefined) {
          linkSync(first, dst);
          linked = true;
        } else this.inodes.set(key, dst);
      }
      if (!linked) {
        copyFileSync(src, dst, constants.COPYFILE_EXCL);
        this.copiedFileInfo(st, src, dst);
        return;
      }
    } else if (st.isSymbolicLink()) {
      symlinkSync(readlinkSync(src, 'utf8'), dst);
    } else if (st.isSocket()) {
      writeFileSync(dst, '', { flag: 'wx' }); // fsutil copies a socket as an empty stub file
    } else {
      const args = st.isFIFO()
        ? [dst, 'p']
        : [dst, st.isCharacterDevice() ? 'c' : 'b', String(devMajor(st.rdev)), String(devMinor(st.rdev))];
      const r = spawnSync(MKNOD, args, { encoding: 'utf8' });
      if (r.error || r.status !== 0) {
        throw new KilnError('IO', `cannot create ${this.shown(dst)}: ${(r.stderr || r.error?.message || '').trim()}`, {
          hint: IS_ROOT ? undefined : 'device nodes can only be created as root',
        });
      }
    }
    this.fileInfo(st, src, dst);
  }

  /**
   * fileInfo for a file copyFileSync has just made. libuv already gave it the source's mode
   * (fchmod), and root made it, so its owner is uid 0 and the group a new file gets in its
   * directory. Only what differs is set: a COPY of a 20k-file directory from the context spent
   * ~0.2 s on chown/chmod calls that changed nothing.
   */
  private copiedFileInfo(st: FileStat, src: string, dst: string): void {
    const owner = this.owner(st);
    const mode = Number(st.mode) & 0o7777;
    const want = this.opts.chmod ? this.opts.chmod.apply(mode, false) : mode;
    const chown = IS_ROOT && (owner.uid !== 0 || owner.gid !== this.newFileGid(dirname(dst)));
    if (chown) lchownSync(dst, owner.uid, owner.gid);
    // chown clears setuid/setgid: the mode is set again after it
    if (want !== mode || (chown && (mode & 0o6000) !== 0)) chmodSync(dst, want);
    lutimesNs(dst, st.atimeNs, st.mtimeNs);
    if (this.opts.xattrs) copyXattrs(src, dst);
  }

  /** The group of a file this process creates in `dir`: the directory's own when it is setgid, else ours. */
  private newFileGid(dir: string): number {
    let gid = this.dirGid.get(dir);
    if (gid === undefined) {
      const st = lstatSync(dir);
      gid = (st.mode & 0o2000) !== 0 ? st.gid : EGID;
      this.dirGid.set(dir, gid);
    }
    return gid;
  }

  private owner(st: FileStat): { uid: number; gid: number } {
    return this.opts.chown ?? (this.opts.keepSourceOwner ? { uid: Number(st.uid), gid: Number(st.gid) } : { uid: 0, gid: 0 });
  }

  /** Owner, mode, times and xattrs of `dst` from the source (fsutil copyFileInfo + copyXAttrs). */
  fileInfo(st: FileStat, src: string, dst: string, applyChmod = true): void {
    if (st.isDirectory()) this.dirGid.clear(); // a directory's setgid bit or group may change here
    const owner = this.owner(st);
    if (IS_ROOT) lchownSync(dst, owner.uid, owner.gid);
    const link = st.isSymbolicLink();
    if (!link) {
      const mode = Number(st.mode) & 0o7777;
      chmodSync(dst, this.opts.chmod && applyChmod ? this.opts.chmod.apply(mode, st.isDirectory()) : mode);
    }
    lutimesNs(dst, st.atimeNs, st.mtimeNs);
    if (!link && this.opts.xattrs) copyXattrs(src, dst);
  }
}

/** Copies extended attributes, best effort like BuildKit (errors are ignored). */
export function copyXattrs(src: string, dst: string): void {
  let names: string[];
  try {
    names = xattr.listAttributesSync(src);
  } catch {
    return;
  }
  for (const n of names) {
    try {
      xattr.setAttributeSync(dst, n, xattr.getAttributeSync(src, n));
    } catch {
      /* unsupported here: skipped, as BuildKit's xattr error handler does */
    }
  }
}

/** lstat that must succeed (the path was just written). */
export function mustLstat(p: string): BigIntStats {
  return lstatSync(p, { bigint: true });
}
