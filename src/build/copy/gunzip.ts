// gzip for ADD's archives, read the way Go's gzip.Reader (multistream) feeds moby's untar: the
// bytes of every member come out before any problem found AFTER them is raised (a bad CRC-32 or
// size in a member's trailer, trailing bytes that are not another gzip member). A tar reader that
// stops at the end-of-archive marker therefore never sees such a problem, and BuildKit extracts
// those archives. Node's Gunzip checks the trailer in the same step that inflates the last bytes
// and then drops them with the error, so a small archive with a bad trailer looked like no
// archive at all. The deflate data itself goes through zlib's raw inflater.
import { crc32, createInflateRaw, type InflateRaw } from 'node:zlib';
import { KilnError } from '../../errors.js';

/** Chunks of an async iterable, with bytes that were read too far pushed back. */
class Input {
  private readonly it: AsyncIterator<unknown>;
  private back: Buffer[] = [];
  private ended = false;
  constructor(src: AsyncIterable<unknown>) {
    this.it = src[Symbol.asyncIterator]();
  }

  /** The next chunk, or undefined at the end. */
  async next(): Promise<Buffer | undefined> {
    const b = this.back.pop();
    if (b !== undefined) return b;
    if (this.ended) return undefined;
    const r = await this.it.next();
    if (r.done) {
      this.ended = true;
      return undefined;
    }
    return Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
  }

  unread(b: Buffer): void {
    if (b.length > 0) this.back.push(b);
  }

  /** Exactly n bytes, or fewer at the end of the input. */
  async read(n: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n) {
      const c = await this.next();
      if (c === undefined) break;
      const take = Math.min(n - got, c.length);
      parts.push(c.subarray(0, take));
      this.unread(c.subarray(take));
      got += take;
    }
    return Buffer.concat(parts, got);
  }

  /** Up to the first NUL byte, which is consumed (the FNAME and FCOMMENT fields). */
  async skipString(): Promise<boolean> {
    for (;;) {
      const c = await this.next();
      if (c === undefined) return false;
      const z = c.indexOf(0);
      if (z >= 0) {
        this.unread(c.subarray(z + 1));
        return true;
      }
    }
  }

  async close(): Promise<void> {
    if (!this.ended) {
      this.ended = true;
      await this.it.return?.();
    }
  }
}

const bad = (why: string) => new KilnError('ARCHIVE_INVALID', `gzip: ${why}`);
const truncated = () => bad('unexpected end of the compressed data');

/** Reads one member header (RFC 1952); false at a clean end of input between members. */
async function readHeader(input: Input, first: boolean): Promise<boolean> {
  const h = await input.read(10);
  if (h.length === 0 && !first) return false;
  if (h.length < 10) throw truncated();
  if (h[0] !== 0x1f || h[1] !== 0x8b || h[2] !== 0x08) throw bad('invalid header (bytes after the last member are not another gzip member)');
  const flags = h[3]!;
  if (flags & 0x04) {
    const len = await input.read(2);
    if (len.length < 2) throw truncated();
    const n = len.readUInt16LE(0);
    if ((await input.read(n)).length < n) throw truncated();
  }
  if (flags & 0x08 && !(await input.skipString())) throw truncated();
  if (flags & 0x10 && !(await input.skipString())) throw truncated();
  if (flags & 0x02 && (await input.read(2)).length < 2) throw truncated();
  return true;
}

/**
 * Feeds `input` to `inf` one chunk at a time until the deflate stream ends (zlib stops taking
 * input), then gives back the bytes it did not consume.
 */
async function feed(input: Input, inf: InflateRaw, ended: () => boolean): Promise<void> {
  let written = 0;
  let last: Buffer | undefined; // the chunk zlib did not consume whole
  for (;;) {
    if (ended()) break;
    const c = await input.next();
    if (c === undefined) {
      inf.end();
      return;
    }
    await new Promise<void>((resolve, reject) => {
      inf.write(c, (e) => (e ? reject(e) : resolve()));
    });
    written += c.length;
    if (inf.bytesWritten < written) {
      last = c; // zlib took only part of it: the deflate data ended
      break;
    }
  }
  // the unconsumed bytes are the end of the last chunk: the member's trailer and what follows
  const extra = written - inf.bytesWritten;
  if (last !== undefined && extra > 0) input.unread(last.subarray(last.length - extra));
}

/** The decompressed bytes of a gzip stream of one or more members (see the file comment). */
export async function* gunzipMembers(source: AsyncIterable<unknown>): AsyncGenerator<Buffer> {
  const input = new Input(source);
  try {
    for (let first = true; await readHeader(input, first); first = false) {
      const inf = createInflateRaw({ chunkSize: 256 << 10 });
      let done = false;
      inf.once('end', () => {
        done = true;
      });
      let failure: unknown;
      const fed = feed(input, inf, () => done).catch((e: unknown) => {
        failure = e;
        inf.destroy();
      });
      let crc = 0;
      let size = 0;
      try {
        for await (const out of inf) {
          const b = out as Buffer;
          crc = crc32(b, crc);
          size += b.length;
          yield b;
        }
      } catch (e) {
        if (failure !== undefined) throw failure;
        throw bad((e as Error).message === 'unexpected end of file' ? 'unexpected end of the compressed data' : (e as Error).message);
      } finally {
        inf.destroy();
      }
      await fed;
      if (failure !== undefined) throw failure;
      const trailer = await input.read(8);
      if (trailer.length < 8) throw truncated();
      if (trailer.readUInt32LE(0) !== crc >>> 0 || trailer.readUInt32LE(4) !== size % 2 ** 32) throw bad('invalid checksum');
    }
  } finally {
    await input.close();
  }
}
