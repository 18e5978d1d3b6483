// Streaming tar reader: an async iterator of entries over a byte stream. Entry bodies are
// streamed in the source's own chunks (never a whole file in memory). Understands USTAR, PAX
// (local 'x' headers, binary xattrs; global 'g' headers are checked and ignored, as Go does), GNU long names/links and base-256 numbers.
import { KilnError, type ErrorCode } from '../errors.js';
import { utf8Name } from '../support/index.js';
import {
  BLOCK, MAX_SPECIAL_SIZE, decodeRawHeader, fail, isZeroBlock, paddingFor, parsePaxRecords,
  type EntryType, type RawHeader, type TarHeader,
} from './tar-format.js';
import { checkFragments, expandSparse, readSparseMap1x0, sparseFromPax } from './tar-sparse.js';

export interface TarEntry {
  readonly header: TarHeader;
  /**
   * The entry's data (only 'file' entries have any). Consume it before asking for the next
   * entry, or leave it: the reader skips what was not read.
   */
  readonly body: AsyncIterable<Buffer>;
}

export interface ReadTarOptions {
  /** Error code for malformed input: ARCHIVE_INVALID (default) or LAYER_UNSAFE for layers. */
  errorCode?: ErrorCode;
  signal?: AbortSignal;
  /**
   * Stop after the end-of-archive marker instead of reading the input to its end, as Go's
   * archive/tar under moby's untar does: whatever follows (record padding, trailing bytes, a
   * compression trailer) is never read, so a problem there is no problem (ADD's archives).
   */
  stopAtEnd?: boolean;
  /**
   * After the end-of-archive marker, read at most this many bytes (record padding: a writer on a
   * pipe is not cut off) and stop: a stream that goes on for ever (/dev/zero) ends there.
   * Default: read to the end.
   */
  drainLimit?: number;
}

const EMPTY = Buffer.alloc(0);

/** Bytes of a tar: a Readable, any async iterable of Buffers, or (for tests) an array of Buffers. */
export type TarSource = AsyncIterable<unknown> | Iterable<unknown>;

/** Pull-based byte source over any async iterable of chunks. */
class ByteSource {
  private cur: Buffer = EMPTY;
  private off = 0;
  private done = false;
  private readonly it: AsyncIterator<unknown>;
  constructor(src: TarSource) {
    if (Symbol.asyncIterator in src) this.it = src[Symbol.asyncIterator]();
    else {
      const sync = src[Symbol.iterator]();
      this.it = { next: async () => sync.next(), return: async () => sync.return?.() ?? { done: true, value: undefined } };
    }
  }

  /** Makes sure unread bytes are available; false at end of input. */
  async fill(): Promise<boolean> {
    while (this.off >= this.cur.length) {
      if (this.done) return false;
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        return false;
      }
      const v = r.value;
      this.cur = Buffer.isBuffer(v) ? v : typeof v === 'string' ? Buffer.from(v) : Buffer.from(v as Uint8Array);
      this.off = 0;
    }
    return true;
  }

  /** Up to n bytes (fewer only at end of input). Zero-copy when the bytes sit in one chunk. */
  async read(n: number): Promise<Buffer> {
    if (!(await this.fill())) return EMPTY;
    if (this.cur.length - this.off >= n) {
      const b = this.cur.subarray(this.off, this.off + n);
      this.off += n;
      return b;
    }
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n && (await this.fill())) {
      const take = Math.min(n - got, this.cur.length - this.off);
      parts.push(this.cur.subarray(this.off, this.off + take));
      this.off += take;
      got += take;
    }
    return Buffer.concat(parts, got);
  }

  /** The next chunk of at most n bytes; EMPTY at end of input. */
  async chunk(n: number): Promise<Buffer> {
    if (!(await this.fill())) return EMPTY;
    const take = Math.min(n, this.cur.length - this.off);
    const b = this.cur.subarray(this.off, this.off + take);
    this.off += take;
    return b;
  }

  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0 && (await this.fill())) {
      const take = Math.min(left, this.cur.length - this.off);
      this.off += take;
      left -= take;
    }
    return n - left;
  }

  async drain(): Promise<void> {
    this.off = this.cur.length;
    while (!this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
    }
  }

  /** Stops the underlying iterator (destroys a Readable source). */
  async close(): Promise<void> {
    if (!this.done) {
      this.done = true;
      await this.it.return?.();
    }
  }
}

const TYPES: Record<number, EntryType> = {
  0x30: 'file', 0x00: 'file', 0x37: 'file', 0x31: 'link', 0x32: 'symlink', 0x33: 'char', 0x34: 'block', 0x35: 'dir', 0x36: 'fifo',
};

function parsePaxInt(v: Buffer, key: string, label: string, code: ErrorCode, allowNegative = false): number {
  const s = v.toString('latin1');
  if (!(allowNegative ? /^-?[0-9]{1,16}$/ : /^[0-9]{1,16}$/).test(s)) fail(code, `PAX record ${key}=${JSON.stringify(s)} of ${label} is not a valid number`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) fail(code, `PAX record ${key} of ${label} is out of range`);
  return n;
}

/** PAX time "sec[.frac]" (may be negative) → [seconds, nanoseconds] with floor semantics. */
function parsePaxTime(v: Buffer, key: string, label: string, code: ErrorCode): [number, number] {
  const s = v.toString('latin1');
  const m = /^(-?)([0-9]{1,16})(?:\.([0-9]*))?$/.exec(s);
  if (!m) fail(code, `PAX record ${key}=${JSON.stringify(s)} of ${label} is not a valid time`);
  let sec = Number(m[2]);
  let nsec = Number((m[3] ?? '').slice(0, 9).padEnd(9, '0'));
  if (m[1] === '-') {
    sec = -sec;
    if (nsec > 0) {
      sec -= 1;
      nsec = 1e9 - nsec;
    }
  }
  if (!Number.isSafeInteger(sec)) fail(code, `PAX record ${key} of ${label} is out of range`);
  return [sec, nsec];
}

function applyPax(h: TarHeader, pax: Map<string, Buffer>, label: string, code: ErrorCode): void {
  for (const [key, v] of pax) {
    switch (key) {
      case 'path':
        if (v.includes(0)) fail(code, `PAX path of ${label} contains a NUL byte`);
        h.name = utf8Name(v, 'tar entry name');
        break;
      case 'linkpath':
        if (v.includes(0)) fail(code, `PAX linkpath of ${label} contains a NUL byte`);
        h.linkname = utf8Name(v, 'link target', ` (of tar entry ${label})`);
        break;
      case 'size':
        h.size = parsePaxInt(v, key, label, code);
        break;
      case 'uid':
        h.uid = parsePaxInt(v, key, label, code);
        break;
      case 'gid':
        h.gid = parsePaxInt(v, key, label, code);
        break;
      case 'uname':
        h.uname = v.toString('utf8');
        break;
      case 'gname':
        h.gname = v.toString('utf8');
        break;
      case 'mtime': {
        const [s, ns] = parsePaxTime(v, key, label, code);
        h.mtime = s;
        h.mtimeNsec = ns;
        break;
      }
      case 'atime': {
        const [s, ns] = parsePaxTime(v, key, label, code);
        h.atime = s + ns / 1e9;
        break;
      }
      case 'SCHILY.devmajor':
        h.devmajor = parsePaxInt(v, key, label, code);
        break;
      case 'SCHILY.devminor':
        h.devminor = parsePaxInt(v, key, label, code);
        break;
      default:
        if (key.startsWith('SCHILY.xattr.') || key.startsWith('LIBARCHIVE.xattr.')) {
          const libarchive = key.startsWith('LIBARCHIVE.');
          const name = libarchive ? decodeURIComponent(key.slice('LIBARCHIVE.xattr.'.length)) : key.slice('SCHILY.xattr.'.length);
          // LIBARCHIVE values are base64 (RFC 4648); SCHILY values are raw bytes
          const value = libarchive ? Buffer.from(v.toString('latin1'), 'base64') : Buffer.from(v);
          (h.xattrs ??= new Map()).set(name, value);
        }
      // GNU.sparse.* records are read by tar-sparse.ts; other keys (ctime, comment, charset, hdrcharset, vendor keys) are ignored
    }
  }
}

/**
 * Reads a tar stream entry by entry. Throws KilnError(errorCode) on malformed input: bad
 * checksum, truncation, negative or huge sizes, lying PAX records, oversized special headers.
 */
export async function* readTar(source: TarSource, opts: ReadTarOptions = {}): AsyncGenerator<TarEntry> {
  const code = opts.errorCode ?? 'ARCHIVE_INVALID';
  const src = new ByteSource(source);
  let index = 0;
  try {
    for (;;) {
      opts.signal?.throwIfAborted();
      // extension headers that apply to the next real entry
      let localPax: Map<string, Buffer> | undefined;
      let longName: Buffer | undefined;
      let longLink: Buffer | undefined;
      let raw: RawHeader;
      for (;;) {
        const block = await src.read(BLOCK);
        index++;
        if (block.length === 0) {
          if (localPax || longName || longLink) fail(code, `tar stream ends after an extension header (#${index - 1}) with no entry`);
          return; // EOF at a header boundary without the end marker: accepted, like Go and GNU tar
        }
        if (index === 1 && ((block[0] === 0x1f && block[1] === 0x8b) || (block.length >= 4 && block.readUInt32BE(0) === 0x28b52ffd))) {
          throw new KilnError(code, `the stream is ${block[0] === 0x1f ? 'gzip' : 'zstd'}-compressed, not a tar`, { hint: 'decompress it first (decompressLayer)' });
        }
        if (block.length < BLOCK) fail(code, `tar stream is truncated inside header #${index} (${block.length} of 512 bytes)`);
        if (isZeroBlock(block)) {
          if (localPax || longName || longLink) fail(code, `tar stream ends after an extension header (#${index - 1}) with no entry`);
          if (opts.stopAtEnd) await src.read(BLOCK); // Go reads the second zero block, no further
          else if (opts.drainLimit !== undefined) await src.skip(opts.drainLimit);
          else await src.drain(); // second zero block and record padding
          return;
        }
        raw = decodeRawHeader(block, code, index);
        const t = raw.typeflag;
        if (t === 0x78 || t === 0x67 || t === 0x4c || t === 0x4b) {
          const label = `header #${index}`;
          if (raw.size > MAX_SPECIAL_SIZE) fail(code, `tar ${String.fromCharCode(t)} extension ${label} is too large (${raw.size} bytes, limit ${MAX_SPECIAL_SIZE})`);
          const body = await src.read(raw.size);
          if (body.length < raw.size) fail(code, `tar stream is truncated inside the extension data of ${label}`);
          const padded = paddingFor(raw.size);
          if ((await src.skip(padded)) < padded) fail(code, `tar stream is truncated after the extension data of ${label}`);
          if (t === 0x78) localPax = new Map([...(localPax ?? []), ...parsePaxRecords(body, code, label)]);
          else if (t === 0x67) {
            // A global header is checked, then ignored: Go's archive/tar returns it as an entry of
            // its own and applies none of its records to later entries (nor keeps extension
            // headers read before it), and moby's and containerd's appliers skip that entry.
            parsePaxRecords(body, code, label);
            localPax = undefined;
            longName = undefined;
            longLink = undefined;
          } else {
            const end = body.indexOf(0);
            const val = Buffer.from(end >= 0 ? body.subarray(0, end) : body);
            if (t === 0x4c) longName = val; else longLink = val;
          }
          continue;
        }
        break;
      }
      const flag = raw.typeflag;
      let type = TYPES[flag];
      const rawName = utf8Name(longName ?? raw.name, 'tar entry name');
      const label = JSON.stringify(rawName);
      if (flag === 0x53) fail(code, `tar entry ${label} is an old-style GNU sparse file (type S), which kiln does not support (nor does Docker)`);
      if (flag === 0x4d || flag === 0x56) fail(code, `tar entry ${label} is a GNU multi-volume/volume header, which kiln does not support`);
      if (flag === 0x44) type = 'dir'; // GNU dumpdir: a directory whose body lists its contents
      if (flag === 0x00 && rawName.endsWith('/')) type = 'dir'; // old (v7) archives mark directories by the slash
      if (type === undefined) fail(code, `tar entry ${label} has unsupported type flag ${JSON.stringify(String.fromCharCode(flag))}`);
      const h: TarHeader = {
        name: rawName,
        type,
        mode: raw.mode & 0o7777,
        uid: raw.uid,
        gid: raw.gid,
        size: raw.size,
        mtime: raw.mtime,
        linkname: utf8Name(longLink ?? raw.linkname, 'link target', ` (of tar entry ${label})`),
        uname: raw.uname.toString('utf8'),
        gname: raw.gname.toString('utf8'),
        devmajor: raw.devmajor,
        devminor: raw.devminor,
      };
      if (localPax) applyPax(h, localPax, label, code);
      if (h.name.includes('\0') || (h.linkname ?? '').includes('\0')) fail(code, `tar entry ${label} has a NUL byte in its name`);
      if (!Number.isSafeInteger(h.size) || h.size < 0) fail(code, `tar entry ${label} has an invalid size`);
      // Bytes that follow the header: the body for files (and dumpdirs); links/devices/dirs carry none
      // in practice, but a non-zero size field still occupies the stream and must be skipped.
      const dataSize = h.size;
      const sparse = localPax ? sparseFromPax(localPax, label, code) : undefined;
      if (sparse && h.type !== 'file') fail(code, `tar entry ${label} has GNU sparse records but is not a regular file`);
      if (h.type !== 'file') h.size = 0;
      let left = h.type === 'file' ? dataSize : 0;
      const entryName = label;
      /** Up to n bytes of the entry's data. */
      const take = async (n: number): Promise<Buffer> => {
        const c = await src.chunk(Math.min(n, left));
        if (c.length === 0) fail(code, `tar stream is truncated inside the data of ${entryName} (${left} bytes missing)`);
        left -= c.length;
        return c;
      };
      let body: AsyncIterable<Buffer> = {
        async *[Symbol.asyncIterator]() {
          while (left > 0) yield await take(left);
        },
      };
      if (sparse) {
        if (sparse.name) h.name = sparse.name;
        const readBlock = async () => {
          if (left < BLOCK) fail(code, `tar stream is truncated inside the GNU sparse map of ${entryName}`);
          const b = await src.read(BLOCK);
          if (b.length < BLOCK) fail(code, `tar stream is truncated inside the GNU sparse map of ${entryName}`);
          left -= BLOCK;
          return b;
        };
        const frags = sparse.map ?? (await readSparseMap1x0(readBlock, label, code));
        h.size = sparse.realSize ?? h.size;
        checkFragments(frags, h.size, label, code);
        const size = h.size;
        body = { [Symbol.asyncIterator]: () => expandSparse(frags, size, take, () => left, entryName, code) };
      }
      yield { header: h, body };
      const rest = (h.type === 'file' ? left : dataSize) + paddingFor(dataSize);
      if ((await src.skip(rest)) < rest) fail(code, `tar stream is truncated inside the data of ${label}`);
      left = 0;
    }
  } finally {
    await src.close();
  }
}

/** Reads a whole body into memory (for small entries and tests), refusing more than `limit` bytes. */
export async function readBody(body: AsyncIterable<Buffer>, limit = 64 << 20): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    n += c.length;
    if (n > limit) throw new KilnError('ARCHIVE_INVALID', `tar entry body is larger than ${limit} bytes`);
    parts.push(Buffer.from(c));
  }
  return Buffer.concat(parts, n);
}
