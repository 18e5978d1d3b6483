// Applies a layer tar onto a root filesystem: OCI whiteouts (or overlayfs-style whiteouts for
// snapshotters), ownership, modes, mtimes, xattrs, devices, fifos, hardlinks, replacement of
// existing paths. The tar is hostile input: nothing is ever written outside the root.
// The same applier extracts ADD's local archives ('untar' mode, see ApplyOptions.untar).
import {
  closeSync, constants, fchmodSync, fchownSync, futimesSync, linkSync, lchownSync, lstatSync, lutimesSync, chmodSync, mkdirSync, openSync,
  realpathSync, rmSync, symlinkSync, unlinkSync, writeSync, type Stats,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as xattr from 'fs-xattr';
import { KilnError, isKilnError } from '../errors.js';
import { readdirNames } from '../support/index.js';
import { cleanEntryPath, entryParts, linkClimbsOut, RootResolver } from './paths.js';
import { readTar, type TarSource } from './tar-reader.js';
import type { TarHeader } from './tar-format.js';

export interface ApplyOptions {
  /**
   * 'delete' (default): `.wh.NAME` removes NAME, `.wh..wh..opq` empties the directory's lower
   * content. 'overlay': for an overlayfs upperdir: write a char 0/0 device for each whiteout and
   * set `trusted.overlay.opaque=y` on opaque directories, deleting nothing.
   * Note: parents are resolved in rootDir only, so symlinked parents that exist only in lower
   * layers (e.g. Debian's `lib -> usr/lib`) are not seen. Apply onto the mounted overlay with
   * 'delete' (overlayfs turns deletions into whiteouts itself), or onto an upperdir in 'overlay'
   * mode when the lower layers are known not to matter (the first layer, or a fresh directory).
   */
  whiteouts?: 'delete' | 'overlay';
  /** lchown entries to their uid/gid (default: when running as root). */
  chown?: boolean;
  /** Restore extended attributes (default true). trusted.overlay.* from a layer is always ignored. */
  xattrs?: boolean;
  /**
   * Extract an archive as Docker's ADD does (moby's chrootarchive.Untar into the destination)
   * instead of applying a layer: `.wh.*` names are plain files (`whiteouts` is ignored); the
   * root acts as a chroot, so a '..' met through an existing symlink stops at it, but a symlink
   * entry whose relative target climbs above it is refused; implied parent directories are 0755
   * and root-owned; a hardlink entry's owner and mode are applied to the shared inode; xattrs
   * are best effort; atime is never before mtime. A malformed tar is ARCHIVE_INVALID.
   */
  untar?: UntarOptions;
  signal?: AbortSignal;
}

export interface UntarOptions {
  /** The error for an entry that is unsafe or cannot be written; `why` says which and how. */
  problem(why: string): KilnError;
}

export interface ApplyResult {
  /** Tar entries processed (whiteouts included). */
  entries: number;
  /** File bytes written. */
  bytes: number;
}

const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;
const MKNOD = '/usr/bin/mknod';

function mknod(path: string, type: 'c' | 'b' | 'p', major = 0, minor = 0): void {
  const args = type === 'p' ? [path, 'p'] : [path, type, String(major), String(minor)];
  const r = spawnSync(MKNOD, args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new KilnError('IO', `cannot create device node ${path}: ${(r.stderr || r.error?.message || '').trim()}`, {
      hint: IS_ROOT ? undefined : 'device nodes can only be created as root',
    });
  }
}

interface DirMeta {
  mode: number;
  atime: number;
  mtime: number;
}

class Applier {
  readonly root: string;
  readonly resolver: RootResolver;
  /** Paths (real, relative to root) created or replaced by this layer. */
  readonly added = new Set<string>();
  readonly dirs = new Map<string, DirMeta>();
  readonly chown: boolean;
  readonly xattrs: boolean;
  readonly overlay: boolean;
  readonly untar: UntarOptions | undefined;
  bytes = 0;

  constructor(rootDir: string, opts: ApplyOptions) {
    this.root = realpathSync(rootDir);
    if (!lstatSync(this.root).isDirectory()) throw new KilnError('IO', `${rootDir} is not a directory`);
    this.chown = opts.chown ?? IS_ROOT;
    this.xattrs = opts.xattrs ?? true;
    this.untar = opts.untar;
    this.overlay = !this.untar && opts.whiteouts === 'overlay';
    const untar = this.untar;
    this.resolver = new RootResolver(this.root, untar ? { clampDotDot: true, notDirectory: (_entry, path) => untar.problem(`${path} is not a directory`) } : {});
  }

  rel(abs: string): string {
    return abs === this.root ? '' : abs.slice(this.root.length + 1);
  }

  parent(parts: readonly string[], entry: string, create: boolean): string | undefined {
    const p = this.resolver.dir(parts, entry, create);
    for (const c of this.resolver.created.splice(0)) {
      this.added.add(this.rel(c));
      if (this.untar) {
        // moby's implied directories: 0755 whatever the umask, root-owned
        chmodSync(c, 0o755);
        if (this.chown) lchownSync(c, 0, 0);
      }
    }
    return p;
  }

  /** Removes whatever is at abs (a whole tree for a directory), never following symlinks. */
  remove(abs: string, st: Stats): void {
    if (st.isDirectory()) {
      rmSync(abs, { recursive: true, force: true });
      const prefix = `${abs}/`;
      for (const k of this.dirs.keys()) if (k === abs || k.startsWith(prefix)) this.dirs.delete(k);
      this.resolver.invalidate();
    } else {
      unlinkSync(abs);
      if (st.isSymbolicLink()) this.resolver.invalidate();
    }
  }

  whiteout(parentParts: string[], name: string, entry: string): void {
    if (name === '' || name === '.' || name === '..' || name.includes('/')) {
      throw new KilnError('LAYER_UNSAFE', `layer whiteout ${JSON.stringify(entry)} names an invalid path`, {
        hint: 'the layer is hostile or corrupt and was not applied',
      });
    }
    const dir = this.parent(parentParts, entry, this.overlay);
    if (dir === undefined) return; // nothing below to hide
    const abs = `${dir}/${name}`;
    const rel = this.rel(abs);
    if (this.added.has(rel)) return; // whiteouts hide only lower layers (OCI), never this layer's own entries
    const st = lstatOrUndefined(abs);
    if (st) this.remove(abs, st);
    if (this.overlay) {
      mknod(abs, 'c', 0, 0);
      this.added.add(rel);
    }
  }

  opaque(dirParts: string[], entry: string): void {
    const dir = this.parent(dirParts, entry, true)!;
    if (this.overlay) {
      xattr.setAttributeSync(dir, 'trusted.overlay.opaque', 'y');
      return;
    }
    const prune = (abs: string): void => {
      for (const name of readdirNames(abs, `/${this.rel(abs)}`)) {
        const child = `${abs}/${name}`;
        const st = lstatSync(child);
        if (!this.added.has(this.rel(child))) this.remove(child, st);
        else if (st.isDirectory()) prune(child);
      }
    };
    prune(dir);
  }

  setXattrs(abs: string, h: TarHeader): void {
    if (!this.xattrs || !h.xattrs) return;
    for (const [k, v] of h.xattrs) {
      if (k.startsWith('trusted.overlay.')) continue; // a layer must not steer overlayfs
      try {
        xattr.setAttributeSync(abs, k, v);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (this.untar || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || (code === 'EPERM' && !IS_ROOT)) continue; // ADD: moby's BestEffortXattrs
        throw e;
      }
    }
  }

  async entry(h: TarHeader, body: AsyncIterable<Buffer>): Promise<void> {
    const parts = this.untar ? (entryParts(h.name) ?? this.outside(h.name)) : cleanEntryPath(h.name);
    if (parts.length === 0) return; // the root itself: its metadata belongs to the base, not a layer
    const base = parts[parts.length - 1]!;
    const parentParts = parts.slice(0, -1);
    if (!this.untar && base.startsWith('.wh.')) {
      if (base === '.wh..wh..opq') this.opaque(parentParts, h.name);
      else if (!base.startsWith('.wh..wh.')) this.whiteout(parentParts, base.slice(4), h.name); // other .wh..wh.* are aufs internals
      return;
    }
    // hardlink target: resolved inside the root before anything is touched
    const linkTarget = h.type === 'link' ? this.hardlinkTarget(h) : undefined;
    if (this.untar && h.type === 'symlink' && linkClimbsOut(parentParts.length, h.linkname ?? '')) {
      // moby: Join(Dir(path), linkname) must stay inside the destination
      throw this.untar.problem(`symlink ${JSON.stringify(h.name)} points outside the destination`);
    }
    const dir = this.parent(parentParts, h.name, true)!;
    const abs = `${dir}/${base}`;
    if (linkTarget === abs) return; // a hardlink to itself: nothing to do
    this.added.add(this.rel(abs));
    // Create first and look only when something is in the way (the common case is a new path):
    // O_EXCL/mkdir/symlink/link never follow an existing symlink at the final component.
    const make = (): void => this.create(h, abs, linkTarget);
    let fd = -1;
    try {
      fd = h.type === 'file' ? this.openNew(abs) : (make(), -1);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const existing = lstatSync(abs);
      if (h.type === 'dir' && existing.isDirectory()) {
        // merge: keep the directory and its lower content, take the layer's metadata
      } else {
        this.remove(abs, existing);
        fd = h.type === 'file' ? this.openNew(abs) : (make(), -1);
      }
    }
    if (h.type === 'link') {
      if (!this.untar) return; // shares the target's inode and metadata
      // ADD (moby's createTarFile) gives the shared inode the header's owner and mode, but
      // never chmods a hardlinked symlink (that would follow it)
      if (this.chown) lchownSync(abs, h.uid, h.gid);
      if (lstatSync(abs).isSymbolicLink()) return;
      chmodSync(abs, h.mode);
      this.setXattrs(abs, h);
      return;
    }
    const mtime = h.mtime + (h.mtimeNsec ?? 0) / 1e9;
    const atime = this.untar ? Math.max(h.atime ?? mtime, mtime) : (h.atime ?? mtime);
    if (fd >= 0) {
      try {
        for await (const chunk of body) {
          let off = 0;
          while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
          this.bytes += chunk.length;
        }
        if (this.chown) fchownSync(fd, h.uid, h.gid);
        fchmodSync(fd, h.mode); // after chown, which clears setuid/setgid
        this.setXattrs(abs, h); // after chown, which clears security.capability
        futimesSync(fd, atime, mtime);
      } finally {
        closeSync(fd);
      }
      return;
    }
    if (this.chown) lchownSync(abs, h.uid, h.gid);
    if (h.type === 'symlink') {
      lutimesSync(abs, atime, mtime);
      return;
    }
    if (h.type === 'dir') {
      this.setXattrs(abs, h);
      this.dirs.set(abs, { mode: h.mode, atime, mtime }); // after children are written
      return;
    }
    chmodSync(abs, h.mode);
    this.setXattrs(abs, h);
    lutimesSync(abs, atime, mtime);
  }

  /** An entry name (or hardlink target) that climbs above the root with '..' (untar mode). */
  outside(name: string): never {
    throw this.untar!.problem(`entry ${JSON.stringify(name)} points outside the destination`);
  }

  /** Where a hardlink entry's target is: an existing non-directory inside the root. */
  hardlinkTarget(h: TarHeader): string {
    const untar = this.untar;
    const notFile = (layer: () => KilnError): KilnError =>
      untar ? untar.problem(`hardlink ${JSON.stringify(h.name)} points at ${JSON.stringify(h.linkname)}, which is not a file in the archive`) : layer();
    const lparts = untar ? (entryParts(h.linkname ?? '') ?? this.outside(h.linkname ?? '')) : cleanEntryPath(h.linkname ?? '', `hardlink target of ${JSON.stringify(h.name)}:`);
    if (lparts.length === 0) throw notFile(() => new KilnError('LAYER_UNSAFE', `layer hardlink ${JSON.stringify(h.name)} points at the root directory`));
    const ldir = this.parent(lparts.slice(0, -1), h.name, false);
    const lt = ldir === undefined ? undefined : `${ldir}/${lparts[lparts.length - 1]!}`;
    const lst = lt === undefined ? undefined : lstatOrUndefined(lt);
    if (lt === undefined || lst === undefined) {
      throw notFile(() => new KilnError('LAYER_INVALID', `layer hardlink ${JSON.stringify(h.name)} points at ${JSON.stringify(h.linkname)}, which does not exist`));
    }
    if (lst.isDirectory()) throw notFile(() => new KilnError('LAYER_UNSAFE', `layer hardlink ${JSON.stringify(h.name)} points at a directory (${JSON.stringify(h.linkname)})`));
    return lt;
  }

  openNew(abs: string): number {
    return openSync(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  }

  /** Creates a non-file entry; throws EEXIST when the path is taken. */
  create(h: TarHeader, abs: string, linkTarget: string | undefined): void {
    switch (h.type) {
      case 'dir':
        mkdirSync(abs, 0o700);
        break;
      case 'symlink':
        symlinkSync(h.linkname ?? '', abs);
        break;
      case 'link':
        linkSync(linkTarget!, abs);
        break;
      case 'char':
      case 'block':
      case 'fifo':
        if (lstatSync(abs, { throwIfNoEntry: false })) throw Object.assign(new Error('exists'), { code: 'EEXIST' });
        mknod(abs, h.type === 'char' ? 'c' : h.type === 'block' ? 'b' : 'p', h.devmajor ?? 0, h.devminor ?? 0);
        break;
      case 'file':
        break;
    }
  }

  finish(): void {
    const list = [...this.dirs.entries()].reverse(); // deepest last-written first
    for (const [abs, m] of list) {
      const st = lstatOrUndefined(abs);
      if (!st?.isDirectory()) continue;
      chmodSync(abs, m.mode);
      lutimesSync(abs, m.atime, m.mtime);
    }
  }
}

function lstatOrUndefined(p: string): Stats | undefined {
  return lstatSync(p, { throwIfNoEntry: false });
}

/**
 * Unpacks an (uncompressed) layer tar onto `rootDir`, which must exist (or, with `untar`,
 * extracts an archive into it as ADD does). Throws
 * KilnError('LAYER_UNSAFE') for hostile input (escaping paths, malformed or lying headers)
 * before writing the offending entry; nothing is ever written outside rootDir.
 */
export async function applyLayer(tar: TarSource, rootDir: string, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const a = new Applier(rootDir, opts);
  let entries = 0;
  for await (const { header, body } of readTar(tar, { errorCode: opts.untar ? 'ARCHIVE_INVALID' : 'LAYER_UNSAFE', signal: opts.signal, stopAtEnd: opts.untar !== undefined })) {
    entries++;
    try {
      await a.entry(header, body);
    } catch (e) {
      if (isKilnError(e)) throw e;
      const err = e as NodeJS.ErrnoException;
      if (opts.untar) throw opts.untar.problem(err.message);
      throw new KilnError('IO', `cannot apply layer entry ${JSON.stringify(header.name)}: ${err.message}`, { cause: e });
    }
  }
  a.finish();
  return { entries, bytes: a.bytes };
}
