// Tar header encoding and decoding: USTAR fields, PAX records (as bytes, so binary xattr values
// survive), GNU base-256 numbers. Pure functions over Buffers; no I/O here.
import { KilnError, type ErrorCode } from '../errors.js';

export const BLOCK = 512;
/** Largest PAX extended header or GNU long name/link body we accept (same limit as Go's archive/tar). */
export const MAX_SPECIAL_SIZE = 1 << 20;

export type EntryType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

/** One tar entry's metadata, after PAX / GNU long-name overrides have been applied. */
export interface TarHeader {
  /** Path as stored (UTF-8); directories may end in '/'. */
  name: string;
  type: EntryType;
  /** Permission bits including setuid/setgid/sticky (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Body size in bytes (0 for everything but 'file'). */
  size: number;
  /** Whole seconds since the epoch (may be negative). */
  mtime: number;
  /** Nanoseconds part of mtime, 0..999999999. */
  mtimeNsec?: number;
  /** Access time in (fractional) seconds, only when a PAX record carried one. */
  atime?: number;
  /** Target of a symlink or hardlink. */
  linkname?: string;
  uname?: string;
  gname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extended attributes, values byte-exact (SCHILY.xattr.* / LIBARCHIVE.xattr.*). */
  xattrs?: Map<string, Buffer>;
}

const TYPE_FLAG: Record<EntryType, number> = {
  file: 0x30, link: 0x31, symlink: 0x32, char: 0x33, block: 0x34, dir: 0x35, fifo: 0x36,
};

export function fail(code: ErrorCode, message: string): never {
  throw new KilnError(code, message, { hint: 'the archive is malformed or was crafted to be unsafe; it was not applied' });
}

// ---------- numbers ----------

const MAX_OCTAL_8 = 0o7777777; // 7 digits + NUL
const MAX_OCTAL_12 = 0o77777777777; // 11 digits + NUL

/** Parses an octal or GNU base-256 numeric field. Throws on garbage; base-256 may be negative. */
export function parseNumeric(field: Buffer, whatArg: string | (() => string), code: ErrorCode): number {
  const what = (): string => (typeof whatArg === 'string' ? whatArg : whatArg());
  if (field.length > 0 && (field[0]! & 0x80) !== 0) {
    // base-256: big-endian; 0x80 marks a positive value, 0xff a negative (two's complement) one
    const negative = field[0] === 0xff;
    let v = 0n;
    for (let i = 0; i < field.length; i++) v = (v << 8n) | BigInt(i === 0 && !negative ? field[i]! & 0x7f : field[i]!);
    if (negative) v -= 1n << BigInt(8 * field.length);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) {
      fail(code, `tar header field ${what()} is out of range (base-256 value ${v})`);
    }
    return Number(v);
  }
  let i = 0;
  const n = field.length;
  while (i < n && (field[i] === 0x20 || field[i] === 0)) {
    if (field[i] === 0) return 0; // all-NUL or leading NUL: empty field
    i++;
  }
  let v = 0;
  let digits = 0;
  for (; i < n; i++) {
    const c = field[i]!;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) fail(code, `tar header field ${what()} is not an octal number: ${JSON.stringify(field.toString('latin1'))}`);
    v = v * 8 + (c - 0x30);
    digits++;
  }
  for (; i < n; i++) {
    const c = field[i]!;
    if (c !== 0 && c !== 0x20) fail(code, `tar header field ${what()} has trailing garbage: ${JSON.stringify(field.toString('latin1'))}`);
  }
  if (digits > 17) fail(code, `tar header field ${what()} is too large`);
  return v;
}

function writeOctal(buf: Buffer, off: number, len: number, value: number): void {
  const s = Math.trunc(value).toString(8).padStart(len - 1, '0');
  buf.write(s, off, len - 1, 'latin1');
  buf[off + len - 1] = 0;
}

/** GNU base-256 for values that do not fit in octal (only used when PAX is not carrying them). */
function writeBase256(buf: Buffer, off: number, len: number, value: number): void {
  let v = BigInt(Math.trunc(value));
  const neg = v < 0n;
  for (let i = off + len - 1; i >= off; i--) {
    buf[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  buf[off] = neg ? 0xff : 0x80;
}

// ---------- strings ----------

function cstring(buf: Buffer, off: number, len: number): Buffer {
  const field = buf.subarray(off, off + len);
  const end = field.indexOf(0);
  return end < 0 ? field : field.subarray(0, end);
}

const isAscii = (s: string): boolean => /^[\x01-\x7f]*$/.test(s);

// ---------- checksum ----------

export function headerChecksum(block: Buffer): { unsigned: number; signed: number } {
  let u = 0;
  let s = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    u += b;
    s += b > 127 ? b - 256 : b;
  }
  return { unsigned: u, signed: s };
}

/** Whether a 512-byte block is a tar header: its checksum field holds its checksum (Go's archive/tar test). */
export function looksLikeTarHeader(block: Buffer): boolean {
  if (block.length < BLOCK) return false;
  const field = block.subarray(148, 156).toString('latin1').replace(/[\0 ]+$/, '').replace(/^[\0 ]+/, '');
  if (!/^[0-7]+$/.test(field)) return false;
  const want = parseInt(field, 8);
  const sum = headerChecksum(block);
  return want === sum.unsigned || want === sum.signed;
}

export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

// ---------- raw header ----------

export interface RawHeader {
  name: Buffer;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: number;
  linkname: Buffer;
  uname: Buffer;
  gname: Buffer;
  devmajor: number;
  devminor: number;
}

/** Decodes one 512-byte header block (USTAR, GNU or v7). Verifies the checksum. */
export function decodeRawHeader(block: Buffer, code: ErrorCode, index: number): RawHeader {
  const stored = parseNumeric(block.subarray(148, 156), 'chksum', code);
  const sum = headerChecksum(block);
  if (stored !== sum.unsigned && stored !== sum.signed) {
    const name = cstring(block, 0, 100).toString('utf8');
    fail(code, `tar header #${index} (${JSON.stringify(name)}) has a bad checksum (stored ${stored}, computed ${sum.unsigned})`);
  }
  const magic = block.toString('latin1', 257, 265);
  const ustar = magic === 'ustar\x0000';
  const gnu = magic === 'ustar  \x00';
  const nameField = cstring(block, 0, 100);
  const label = () => JSON.stringify(nameField.toString('utf8'));
  const num = (off: number, len: number, what: string) => parseNumeric(block.subarray(off, off + len), () => `${what} of ${label()}`, code);
  let name = nameField;
  if (ustar) {
    const prefix = cstring(block, 345, 155);
    if (prefix.length > 0) name = Buffer.concat([prefix, Buffer.from('/'), nameField]);
  }
  const size = num(124, 12, 'size');
  if (size < 0) fail(code, `tar entry ${label()} has a negative size (${size})`);
  return {
    name,
    mode: num(100, 8, 'mode'),
    uid: num(108, 8, 'uid'),
    gid: num(116, 8, 'gid'),
    size,
    mtime: num(136, 12, 'mtime'),
    typeflag: block[156]!,
    linkname: cstring(block, 157, 100),
    uname: ustar || gnu ? cstring(block, 265, 32) : Buffer.alloc(0),
    gname: ustar || gnu ? cstring(block, 297, 32) : Buffer.alloc(0),
    devmajor: ustar || gnu ? num(329, 8, 'devmajor') : 0,
    devminor: ustar || gnu ? num(337, 8, 'devminor') : 0,
  };
}

// ---------- PAX records ----------

/** Parses a PAX extended header body into key → raw value bytes. Rejects malformed records. */
export function parsePaxRecords(body: Buffer, code: ErrorCode, entryLabel: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < body.length) {
    // trailing NUL padding after the last record is tolerated (some writers leave it)
    if (body[pos] === 0) {
      for (let i = pos; i < body.length; i++) if (body[i] !== 0) fail(code, `PAX header of ${entryLabel}: garbage after NUL`);
      break;
    }
    const sp = body.indexOf(0x20, pos);
    if (sp < 0 || sp - pos > 12 || sp === pos) fail(code, `PAX header of ${entryLabel}: malformed record length at byte ${pos}`);
    const lenStr = body.toString('latin1', pos, sp);
    if (!/^[1-9][0-9]*$/.test(lenStr)) fail(code, `PAX header of ${entryLabel}: record length ${JSON.stringify(lenStr)} is not a number`);
    const len = Number(lenStr);
    const end = pos + len;
    if (len < sp - pos + 4 || end > body.length) {
      fail(code, `PAX header of ${entryLabel}: record length ${len} does not match the data (lying PAX record)`);
    }
    if (body[end - 1] !== 0x0a) fail(code, `PAX header of ${entryLabel}: record at byte ${pos} does not end in a newline (lying PAX record)`);
    const eq = body.indexOf(0x3d, sp + 1);
    if (eq < 0 || eq >= end - 1 || eq === sp + 1) fail(code, `PAX header of ${entryLabel}: record at byte ${pos} has no key=value`);
    const key = body.toString('utf8', sp + 1, eq);
    if (key.includes('\0')) fail(code, `PAX header of ${entryLabel}: key contains NUL`);
    const value = body.subarray(eq + 1, end - 1);
    if (key === 'GNU.sparse.offset' || key === 'GNU.sparse.numbytes') {
      // GNU sparse 0.0 repeats these two in turn: collected into GNU.sparse.map, as Go does
      const map = out.get('GNU.sparse.map');
      const n = map === undefined ? 0 : map.toString('latin1').split(',').length;
      if ((n % 2 === 0) !== (key === 'GNU.sparse.offset') || value.includes(0x2c)) fail(code, `PAX header of ${entryLabel}: GNU sparse 0.0 records out of order`);
      out.set('GNU.sparse.map', map === undefined ? Buffer.from(value) : Buffer.concat([map, Buffer.from(','), value]));
    } else out.set(key, value);
    pos = end;
  }
  return out;
}

function paxRecord(key: string, value: Buffer): Buffer {
  const rest = Buffer.byteLength(key) + value.length + 3; // ' ' '=' '\n'
  let len = rest + String(rest).length;
  if (String(len).length !== String(rest).length) len = rest + String(len).length;
  return Buffer.concat([Buffer.from(`${len} ${key}=`, 'utf8'), value, Buffer.from('\n')]);
}

// ---------- encoding ----------

function splitUstarName(name: Buffer): { prefix: Buffer; base: Buffer } | undefined {
  if (name.length <= 100) return { prefix: Buffer.alloc(0), base: name };
  if (name.length > 256) return undefined;
  // split at a '/' so that prefix ≤ 155 and base ≤ 100 (and non-empty)
  for (let i = Math.min(155, name.length - 2); i > 0; i--) {
    if (name[i] === 0x2f && name.length - i - 1 <= 100 && name.length - i - 1 > 0) {
      return { prefix: name.subarray(0, i), base: name.subarray(i + 1) };
    }
  }
  return undefined;
}

function fillUstar(block: Buffer, h: {
  name: Buffer; prefix: Buffer; mode: number; uid: number; gid: number; size: number; mtime: number;
  typeflag: number; linkname: Buffer; uname: Buffer; gname: Buffer; devmajor: number; devminor: number;
}): void {
  h.name.copy(block, 0, 0, 100);
  writeOctal(block, 100, 8, h.mode);
  (h.uid <= MAX_OCTAL_8 ? writeOctal : writeBase256)(block, 108, 8, h.uid);
  (h.gid <= MAX_OCTAL_8 ? writeOctal : writeBase256)(block, 116, 8, h.gid);
  (h.size <= MAX_OCTAL_12 ? writeOctal : writeBase256)(block, 124, 12, h.size);
  (h.mtime >= 0 && h.mtime <= MAX_OCTAL_12 ? writeOctal : writeBase256)(block, 136, 12, h.mtime);
  block[156] = h.typeflag;
  h.linkname.copy(block, 157, 0, 100);
  block.write('ustar\x0000', 257, 8, 'latin1');
  h.uname.copy(block, 265, 0, 32);
  h.gname.copy(block, 297, 0, 32);
  writeOctal(block, 329, 8, h.devmajor <= MAX_OCTAL_8 ? h.devmajor : 0);
  writeOctal(block, 337, 8, h.devminor <= MAX_OCTAL_8 ? h.devminor : 0);
  h.prefix.copy(block, 345, 0, 155);
  block.fill(0x20, 148, 156);
  const { unsigned } = headerChecksum(block);
  block.write(unsigned.toString(8).padStart(6, '0'), 148, 6, 'latin1');
  block[154] = 0;
  block[155] = 0x20;
}

function fracNsec(nsec: number): string {
  return String(nsec).padStart(9, '0').replace(/0+$/, '');
}

/**
 * Encodes the header blocks for one entry: a PAX 'x' header when anything does not fit USTAR
 * (long or non-ASCII names, ids > 2097151, sub-second or out-of-range mtime, xattrs, big
 * device numbers or sizes), then the USTAR header. Deterministic: PAX records sorted by key.
 */
export function encodeHeader(h: TarHeader): Buffer {
  const pax = new Map<string, Buffer>();
  const nameBuf = Buffer.from(h.name, 'utf8');
  const linkBuf = Buffer.from(h.linkname ?? '', 'utf8');
  let split = isAscii(h.name) ? splitUstarName(nameBuf) : undefined;
  if (!split) {
    pax.set('path', nameBuf);
    split = { prefix: Buffer.alloc(0), base: nameBuf.subarray(0, 100) };
  }
  let link = linkBuf;
  if (linkBuf.length > 100 || !isAscii(h.linkname ?? '')) {
    pax.set('linkpath', linkBuf);
    link = linkBuf.subarray(0, 100);
  }
  if (h.uid > MAX_OCTAL_8) pax.set('uid', Buffer.from(String(h.uid)));
  if (h.gid > MAX_OCTAL_8) pax.set('gid', Buffer.from(String(h.gid)));
  if (h.size > MAX_OCTAL_12) pax.set('size', Buffer.from(String(h.size)));
  const nsec = h.mtimeNsec ?? 0;
  if (nsec !== 0 || h.mtime < 0 || h.mtime > MAX_OCTAL_12) {
    pax.set('mtime', Buffer.from(nsec ? `${h.mtime}.${fracNsec(nsec)}` : String(h.mtime)));
  }
  const unameBuf = Buffer.from(h.uname ?? '', 'utf8');
  const gnameBuf = Buffer.from(h.gname ?? '', 'utf8');
  if (unameBuf.length > 32 || !isAscii(h.uname ?? '')) pax.set('uname', unameBuf);
  if (gnameBuf.length > 32 || !isAscii(h.gname ?? '')) pax.set('gname', gnameBuf);
  if ((h.devmajor ?? 0) > MAX_OCTAL_8) pax.set('SCHILY.devmajor', Buffer.from(String(h.devmajor)));
  if ((h.devminor ?? 0) > MAX_OCTAL_8) pax.set('SCHILY.devminor', Buffer.from(String(h.devminor)));
  if (h.xattrs) for (const [k, v] of h.xattrs) pax.set(`SCHILY.xattr.${k}`, v);

  const main = Buffer.alloc(BLOCK);
  fillUstar(main, {
    name: split.base, prefix: split.prefix, mode: h.mode & 0o7777, uid: h.uid, gid: h.gid,
    size: h.type === 'file' ? h.size : 0, mtime: h.mtime, typeflag: TYPE_FLAG[h.type], linkname: link,
    uname: unameBuf.subarray(0, 32), gname: gnameBuf.subarray(0, 32), devmajor: h.devmajor ?? 0, devminor: h.devminor ?? 0,
  });
  if (pax.size === 0) return main;

  const records = Buffer.concat([...pax.keys()].sort().map((k) => paxRecord(k, pax.get(k)!)));
  // Go's naming: dir/PaxHeaders.0/base (deterministic, unlike GNU tar's pid-based name)
  const trimmed = h.name.replace(/\/+$/, '');
  const slash = trimmed.lastIndexOf('/');
  const paxName = Buffer.from(slash >= 0 ? `${trimmed.slice(0, slash)}/PaxHeaders.0/${trimmed.slice(slash + 1)}` : `PaxHeaders.0/${trimmed}`, 'utf8');
  const pblock = Buffer.alloc(BLOCK);
  fillUstar(pblock, {
    name: isAscii(paxName.toString('latin1')) ? paxName.subarray(0, 100) : Buffer.from('PaxHeaders.0/entry'), prefix: Buffer.alloc(0),
    mode: 0o644, uid: 0, gid: 0, size: records.length, mtime: 0, typeflag: 0x78, linkname: Buffer.alloc(0),
    uname: Buffer.alloc(0), gname: Buffer.alloc(0), devmajor: 0, devminor: 0,
  });
  const pad = (BLOCK - (records.length % BLOCK)) % BLOCK;
  return Buffer.concat([pblock, records, Buffer.alloc(pad), main]);
}

/** Zero bytes that pad a body of `size` bytes to a whole block. */
export function paddingFor(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** End-of-archive marker: two zero blocks (what Go and BuildKit write; no record padding). */
export const TAR_END = Buffer.alloc(2 * BLOCK);

/** One whole entry (header + body + padding) in memory. Handy for tests and small archives. */
export function encodeEntry(h: TarHeader, body?: Buffer): Buffer {
  const data = body ?? Buffer.alloc(0);
  const size = h.type === 'file' ? data.length : 0;
  return Buffer.concat([encodeHeader({ ...h, size }), data.subarray(0, size), Buffer.alloc(paddingFor(size))]);
}
