// Deterministic layer writer: a directory tree (or a snapshot's change list) → tar bytes. Sorted
// entries, normalised headers (no atime/ctime, empty uname/gname, mode bits as-is, optional
// SOURCE_DATE_EPOCH clamp), hardlinks by (dev, ino), OCI whiteouts, xattrs. Same tree, same bytes.
import { closeSync, lstatSync, openSync, readSync, readlinkSync, constants, type Stats } from 'node:fs';
import { Readable } from 'node:stream';
import * as xattr from 'fs-xattr';
import { KilnError, toKilnError } from '../errors.js';
import { readdirNames } from '../support/index.js';
import { sortChanges, type Change } from './changes.js';
import { TAR_END, encodeHeader, paddingFor, type EntryType, type TarHeader } from './tar-format.js';

export interface WriteOptions {
  /** Clamp every mtime to at most this (seconds since the epoch), like BuildKit's SOURCE_DATE_EPOCH. */
  sourceDateEpoch?: number;
  /** Keep sub-second mtimes (written as PAX records). Default false: truncate to seconds like Docker. */
  subsecondMtimes?: boolean;
  /**
   * Whole seconds rounded to the nearest (halves up), as Go's archive/tar writes a USTAR time:
   * BuildKit's tar exporter. Default false: truncated, as in image layers.
   */
  roundMtimes?: boolean;
  /** Every mtime is this (seconds): BuildKit's local and tar exporters set SOURCE_DATE_EPOCH, not clamp to it. */
  mtimeEpoch?: number;
  /**
   * Include extended attributes (default true; trusted.overlay.* is always left out).
   * 'capability': security.capability only, as image layers from BuildKit hold (the tar writers
   * of containerd and moby keep no other).
   */
  xattrs?: boolean | 'capability';
  /** Size of the chunks the stream emits (default 1 MiB). */
  chunkSize?: number;
  signal?: AbortSignal;
}

const OVERLAY_XATTR = 'trusted.overlay.';
const CAPABILITY_XATTR = 'security.capability';

/** Reads xattrs without following symlinks (fs-xattr follows them, so symlinks get none). */
function readXattrs(path: string, st: Stats): Map<string, Buffer> | undefined {
  if (st.isSymbolicLink()) return undefined;
  let names: string[];
  try {
    names = xattr.listAttributesSync(path);
  } catch {
    return undefined; // ENOTSUP and friends: no xattrs
  }
  if (names.length === 0) return undefined;
  const out = new Map<string, Buffer>();
  for (const n of names.sort()) {
    if (n.startsWith(OVERLAY_XATTR)) continue;
    try {
      out.set(n, xattr.getAttributeSync(path, n));
    } catch {
      /* vanished or unreadable: skip */
    }
  }
  return out.size ? out : undefined;
}

function typeOf(st: Stats): EntryType | undefined {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return undefined; // sockets are not archived (like GNU tar and Docker)
}

const major = (dev: number): number => Number((BigInt(dev) >> 8n) & 0xfffn) | Number((BigInt(dev) >> 32n) & ~0xfffn);
const minor = (dev: number): number => Number(BigInt(dev) & 0xffn) | Number((BigInt(dev) >> 12n) & ~0xffn);

/** Accumulates tar bytes into fixed-size chunks, reading file data straight into them. */
class ChunkWriter {
  private buf: Buffer;
  private pos = 0;
  readonly out: Buffer[] = [];
  constructor(private readonly size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  private flush(): void {
    if (this.pos === 0) return;
    this.out.push(this.pos === this.buf.length ? this.buf : this.buf.subarray(0, this.pos));
    this.buf = Buffer.allocUnsafe(this.size);
    this.pos = 0;
  }
  put(b: Buffer): void {
    let off = 0;
    while (off < b.length) {
      if (this.pos === this.buf.length) this.flush();
      const n = b.copy(this.buf, this.pos, off);
      this.pos += n;
      off += n;
    }
  }
  zeros(n: number): void {
    while (n > 0) {
      if (this.pos === this.buf.length) this.flush();
      const k = Math.min(n, this.buf.length - this.pos);
      this.buf.fill(0, this.pos, this.pos + k);
      this.pos += k;
      n -= k;
    }
  }
  /**
   * Copies exactly `size` bytes of fd into the stream, yielding after every full chunk so a big
   * file is never held in memory; throws if the file shrank.
   */
  *file(fd: number, size: number, name: string): Generator<void> {
    let left = size;
    let position = 0;
    while (left > 0) {
      if (this.pos === this.buf.length) {
        this.flush();
        yield;
      }
      const want = Math.min(left, this.buf.length - this.pos);
      const n = readSync(fd, this.buf, this.pos, want, position);
      if (n === 0) throw new KilnError('IO', `${name} shrank while it was being archived`, { hint: 'do not modify the tree while kiln reads it' });
      this.pos += n;
      position += n;
      left -= n;
    }
  }
  take(): Buffer[] {
    return this.out.splice(0);
  }
  end(): void {
    this.flush();
  }
}

interface Ctx {
  opts: WriteOptions;
  links: Map<string, string>;
  w: ChunkWriter;
}

function mtimeOf(abs: string, st: Stats, opts: WriteOptions): [number, number] {
  if (opts.mtimeEpoch !== undefined) return [opts.mtimeEpoch, 0];
  let sec = Math.floor(st.mtimeMs / 1000);
  let nsec = 0;
  if (opts.roundMtimes) {
    const ns = lstatSync(abs, { bigint: true }).mtimeNs; // exact (mtimeMs is a float)
    if (ns >= 0n) sec = Number((ns + 500_000_000n) / 1_000_000_000n);
  }
  if (opts.subsecondMtimes) {
    const ns = lstatSync(abs, { bigint: true }).mtimeNs; // exact nanoseconds (mtimeMs is a float)
    sec = Number(ns / 1_000_000_000n);
    nsec = Number(ns % 1_000_000_000n);
    if (nsec < 0) {
      sec -= 1;
      nsec += 1e9;
    }
  }
  if (opts.sourceDateEpoch !== undefined && sec >= opts.sourceDateEpoch) {
    if (sec > opts.sourceDateEpoch || nsec > 0) {
      sec = opts.sourceDateEpoch;
      nsec = 0;
    }
  }
  return [sec, nsec];
}

/** Writes one filesystem object as an entry named `rel` (dirs get a trailing '/'). */
function* emit(ctx: Ctx, abs: string, rel: string, st: Stats): Generator<void> {
  const type = typeOf(st);
  if (type === undefined) return;
  const [mtime, mtimeNsec] = mtimeOf(abs, st, ctx.opts);
  const h: TarHeader = {
    name: type === 'dir' ? `${rel}/` : rel,
    type,
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    size: 0,
    mtime,
    mtimeNsec,
  };
  if (ctx.opts.xattrs !== false) {
    const x = readXattrs(abs, st);
    const cap = ctx.opts.xattrs === 'capability' ? x?.get(CAPABILITY_XATTR) : undefined;
    if (cap !== undefined) h.xattrs = new Map([[CAPABILITY_XATTR, cap]]);
    else if (x && ctx.opts.xattrs !== 'capability') h.xattrs = x;
  }
  if (type === 'symlink') h.linkname = readlinkSync(abs);
  else if (type === 'char' || type === 'block') {
    h.devmajor = major(st.rdev);
    h.devminor = minor(st.rdev);
  } else if (type === 'file') {
    if (st.nlink > 1) {
      const big = lstatSync(abs, { bigint: true }); // exact inode numbers for the key
      const key = `${big.dev}:${big.ino}`;
      const first = ctx.links.get(key);
      if (first !== undefined) {
        h.type = 'link';
        h.linkname = first;
        ctx.w.put(encodeHeader(h));
        return;
      }
      ctx.links.set(key, rel);
    }
    h.size = st.size;
    const fd = openSync(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      ctx.w.put(encodeHeader(h));
      yield* ctx.w.file(fd, st.size, abs);
    } finally {
      closeSync(fd);
    }
    ctx.w.zeros(paddingFor(st.size));
    return;
  }
  ctx.w.put(encodeHeader(h));
}

function whiteout(ctx: Ctx, name: string): void {
  const mtime = ctx.opts.sourceDateEpoch ?? 0;
  ctx.w.put(encodeHeader({ name, type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtime }));
}

function makeStream(produce: (ctx: Ctx) => Generator<void>, opts: WriteOptions): Readable {
  const w = new ChunkWriter(opts.chunkSize ?? 1 << 20);
  const ctx: Ctx = { opts, links: new Map(), w };
  const steps = produce(ctx);
  let finished = false;
  return new Readable({
    highWaterMark: 2 * (opts.chunkSize ?? 1 << 20),
    read() {
      try {
        for (;;) {
          const ready = w.take();
          if (ready.length) {
            let more = true;
            for (const b of ready) more = this.push(b);
            if (!more) return;
            continue;
          }
          if (finished) {
            this.push(null);
            return;
          }
          opts.signal?.throwIfAborted();
          // advance until at least one chunk is ready or the walk ends
          while (w.out.length === 0) {
            const r = steps.next();
            if (r.done) {
              w.put(TAR_END);
              w.end();
              finished = true;
              break;
            }
          }
        }
      } catch (e) {
        this.destroy(e instanceof KilnError ? e : toIo(e));
      }
    },
  });
}

function toIo(e: unknown): Error {
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.code === 'string' && typeof err.path === 'string') return new KilnError('IO', `cannot archive ${err.path}: ${err.message}`, { cause: e });
  return toKilnError(e);
}

/**
 * The whole tree under `dir` as a layer tar (the root itself is not an entry). Symlinks are
 * archived, never followed. Sockets are skipped.
 */
export function writeTree(dir: string, opts: WriteOptions = {}): Readable {
  return makeStream(function* walk(ctx) {
    const visit = function* (absDir: string, relDir: string): Generator<void> {
      const names = readdirNames(absDir, `/${relDir}`).sort();
      for (const name of names) {
        const abs = `${absDir}/${name}`;
        const rel = relDir ? `${relDir}/${name}` : name;
        const st = lstatSync(abs);
        yield* emit(ctx, abs, rel, st);
        if (st.isDirectory()) yield* visit(abs, rel);
        else yield;
      }
      yield;
    };
    yield* visit(dir.replace(/\/+$/, '') || '/', '');
  }, opts);
}

/**
 * A layer tar for a snapshot diff: `root` is the snapshot's merged (or upper) directory, from
 * which added and modified paths are read. Deletions become `.wh.NAME` entries, opaque
 * directories get `DIR/.wh..wh..opq` right after the directory entry.
 */
export function writeChanges(root: string, changes: readonly Change[], opts: WriteOptions = {}): Readable {
  const sorted = sortChanges(changes);
  const base = root.replace(/\/+$/, '') || '/';
  return makeStream(function* (ctx) {
    for (const c of sorted) {
      const slash = c.path.lastIndexOf('/');
      const parent = slash >= 0 ? c.path.slice(0, slash + 1) : '';
      const name = c.path.slice(slash + 1);
      if (c.kind === 'delete') {
        whiteout(ctx, `${parent}.wh.${name}`);
      } else {
        const abs = `${base}/${c.path}`;
        const st = lstatSync(abs);
        yield* emit(ctx, abs, c.path, st);
        if (c.opaque) {
          if (!st.isDirectory()) throw new KilnError('INTERNAL', `change ${c.path} is marked opaque but is not a directory`);
          whiteout(ctx, `${c.path}/.wh..wh..opq`);
        }
      }
      yield;
    }
  }, opts);
}
