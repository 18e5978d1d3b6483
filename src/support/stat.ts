// File stats for tree walks. `FileStat` is the part of Node's BigIntStats that kiln's walkers and
// copiers read, so an lstatSync({bigint: true}) result is one. `lstatMany` stats every name of one
// directory in one native call (support/native.ts) and hands out `PackedStat`s: one small object
// per file over a shared BigInt64Array, instead of Node's ~23 heap objects (18 BigInts, 4 Dates)
// per file. A 20k-file context walk kept all of those alive, and the garbage collector copying
// them between generations cost more than the lstat calls themselves. Without the native helper,
// or for a directory it cannot open, it is lstatSync per name.
import { constants as fsc, lstatSync, type BigIntStats } from 'node:fs';
import { constants } from 'node:os';
import { nativeSys } from './native.js';

export type FileStat = Pick<
  BigIntStats,
  | 'isFile' | 'isDirectory' | 'isSymbolicLink' | 'isFIFO' | 'isCharacterDevice' | 'isBlockDevice' | 'isSocket'
  | 'mode' | 'uid' | 'gid' | 'nlink' | 'size' | 'rdev' | 'dev' | 'ino' | 'atimeNs' | 'mtimeNs' | 'ctimeNs'
>;

// one record of native lstatAt (native/kiln_sys.c: enum F_*)
const F_MODE = 0, F_UID = 1, F_GID = 2, F_NLINK = 3, F_SIZE = 4, F_RDEV = 5, F_DEV = 6, F_INO = 7, F_ATIME = 8, F_MTIME = 9, F_CTIME = 10;
const NFIELDS = 11;
const S_IFMT = 0o170000;

export class PackedStat implements FileStat {
  /** The file type bits (S_IFMT) of the mode. */
  private readonly type: number;
  /**
   * `a`: the records of one directory, `w` the same bytes as int32 (shared by its files),
   * `i`: this file's record.
   */
  constructor(
    private readonly a: BigInt64Array,
    private readonly w: Int32Array,
    private readonly i: number,
  ) {
    this.type = Number(a[i + F_MODE]!) & S_IFMT;
  }
  /**
   * Writes this file's identity at int64 word `at` of `dst` (given as int32s) without making a
   * BigInt or a view per field: the record minus atime (copyIdentity has the field order).
   */
  copyIdentityTo(dst: Int32Array, at: number): void {
    const s = this.i * 2;
    const d = at * 2;
    for (let j = 0; j < F_ATIME * 2; j++) dst[d + j] = this.w[s + j]!;
    for (let j = F_MTIME * 2; j < NFIELDS * 2; j++) dst[d + j - 2] = this.w[s + j]!;
  }
  isFile(): boolean {
    return this.type === fsc.S_IFREG;
  }
  isDirectory(): boolean {
    return this.type === fsc.S_IFDIR;
  }
  isSymbolicLink(): boolean {
    return this.type === fsc.S_IFLNK;
  }
  isFIFO(): boolean {
    return this.type === fsc.S_IFIFO;
  }
  isCharacterDevice(): boolean {
    return this.type === fsc.S_IFCHR;
  }
  isBlockDevice(): boolean {
    return this.type === fsc.S_IFBLK;
  }
  isSocket(): boolean {
    return this.type === fsc.S_IFSOCK;
  }
  get mode(): bigint {
    return this.a[this.i + F_MODE]!;
  }
  get uid(): bigint {
    return this.a[this.i + F_UID]!;
  }
  get gid(): bigint {
    return this.a[this.i + F_GID]!;
  }
  get nlink(): bigint {
    return this.a[this.i + F_NLINK]!;
  }
  get size(): bigint {
    return this.a[this.i + F_SIZE]!;
  }
  get rdev(): bigint {
    return this.a[this.i + F_RDEV]!;
  }
  get dev(): bigint {
    return this.a[this.i + F_DEV]!;
  }
  get ino(): bigint {
    // st_ino is unsigned: a number past 2^63 came back negative through the int64 record
    const v = this.a[this.i + F_INO]!;
    return v < 0n ? v + (1n << 64n) : v;
  }
  get atimeNs(): bigint {
    return this.a[this.i + F_ATIME]!;
  }
  get mtimeNs(): bigint {
    return this.a[this.i + F_MTIME]!;
  }
  get ctimeNs(): bigint {
    return this.a[this.i + F_CTIME]!;
  }
}

/** int64 words per file written by copyIdentity. */
export const IDENTITY_WORDS = 10;

/**
 * Writes what identifies a file's content and metadata (everything but atime: mode, uid, gid,
 * nlink, size, rdev, dev, ino, mtime ns, ctime ns) as IDENTITY_WORDS int64s at `dst[at...]`;
 * `dst32` is the same buffer as int32s.
 */
export function copyIdentity(st: FileStat, dst: BigInt64Array, dst32: Int32Array, at: number): void {
  if (st instanceof PackedStat) return st.copyIdentityTo(dst32, at);
  dst[at] = st.mode;
  dst[at + 1] = st.uid;
  dst[at + 2] = st.gid;
  dst[at + 3] = st.nlink;
  dst[at + 4] = st.size;
  dst[at + 5] = st.rdev;
  dst[at + 6] = st.dev;
  dst[at + 7] = BigInt.asIntN(64, st.ino);
  dst[at + 8] = st.mtimeNs;
  dst[at + 9] = st.ctimeNs;
}

const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([k, v]) => [v, k]));

/**
 * A file changed less than this long ago is "racy": a later write in the same timestamp tick
 * could leave its stat as it is, so nothing keyed on that stat may be remembered yet.
 */
export const RACY_NS = 1_000_000_000n;

/** lstatSync({bigint}), or undefined when the path (or a parent) is not there. */
export function lstatOrUndefined(p: string): BigIntStats | undefined {
  try {
    return lstatSync(p, { bigint: true, throwIfNoEntry: false });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/** The stats of the names of one directory; `get(k)` throws what lstat of names[k] failed with. */
export interface StatList {
  /** undefined: the entry is gone (ENOENT, ENOTDIR), as with lstatSync's throwIfNoEntry: false. */
  get(k: number): FileStat | undefined;
}

/** lstat of `dir/name` for every name (see the file comment); `native: false` for tests. */
export function lstatMany(dir: string, names: readonly string[], native = true): StatList {
  const packed = native && names.length > 0 ? nativeSys()?.lstatAt(dir, names) : undefined;
  if (packed) {
    const words = new Int32Array(packed.buffer, packed.byteOffset, packed.length * 2);
    return {
      get(k) {
        const i = k * NFIELDS;
        const m = packed[i + F_MODE]!;
        if (m >= 0n) return new PackedStat(packed, words, i);
        const errno = -Number(m);
        const code = ERRNO_NAMES.get(errno) ?? `E${errno}`;
        if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
        const p = `${dir}/${names[k]}`;
        throw Object.assign(new Error(`${code}: lstat '${p}'`), { errno: -errno, code, syscall: 'lstat', path: p });
      },
    };
  }
  const base = dir.endsWith('/') ? dir : `${dir}/`;
  return { get: (k) => lstatOrUndefined(base + names[k]) };
}
