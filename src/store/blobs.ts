// The blob half of the store: blobs/<alg>/<hex>, written only by ingest (temp → hash → verify →
// fsync → rename → fsync dir) and verified again on every read.
import { mkdirSync, readdirSync, statSync, unlinkSync, utimesSync } from 'node:fs';
import { open as openFile, readFile, rename, stat, unlink } from 'node:fs/promises';
import { PassThrough, Writable, type Transform } from 'node:stream';
import type { FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { KilnError } from '../errors.js';
import { HashingStream, VerifyingStream, digestAlgorithm, digestHex, isDigest, pipeThrough, type Digest } from '../image/index.js';
import { nativeSys } from '../support/index.js';
import { fsyncDir, tempName } from './fsutil.js';

export interface IngestResult {
  readonly digest: Digest;
  readonly size: number;
}

export interface Expect {
  readonly digest: Digest;
  readonly size?: number;
}

/** Largest blob readBytes() will load (manifests and configs are small; 16 MiB is generous). */
export const MAX_JSON_BLOB = 16 << 20;

function notFound(d: Digest, cause?: unknown): KilnError {
  return new KilnError('BLOB_NOT_FOUND', `blob ${d} is not in the local store`, cause === undefined ? {} : { cause });
}

export class BlobStore {
  readonly blobsDir: string;

  constructor(
    readonly root: string,
    readonly tmpDir: string,
  ) {
    this.blobsDir = join(root, 'blobs');
    mkdirSync(join(this.blobsDir, 'sha256'), { recursive: true });
  }

  path(d: Digest): string {
    return join(this.blobsDir, digestAlgorithm(d), digestHex(d));
  }

  async has(d: Digest): Promise<boolean> {
    try {
      return (await stat(this.path(d))).isFile();
    } catch {
      return false;
    }
  }

  /** Size of a stored blob; BLOB_NOT_FOUND when absent. */
  async stat(d: Digest): Promise<{ size: number; mtimeMs: number }> {
    try {
      const s = await stat(this.path(d));
      return { size: s.size, mtimeMs: s.mtimeMs };
    } catch (e: unknown) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(d, e);
      throw e;
    }
  }

  /**
   * A stream of the blob that is verified as it is read: if the file on disk does not hash to
   * `d`, the stream fails with DIGEST_MISMATCH at the end. BLOB_NOT_FOUND when absent.
   */
  async open(d: Digest, signal?: AbortSignal): Promise<NodeJS.ReadableStream> {
    signal?.throwIfAborted();
    let fh;
    try {
      fh = await openFile(this.path(d), 'r');
    } catch (e: unknown) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(d, e);
      throw e;
    }
    const raw = fh.createReadStream({ ...(signal ? { signal } : {}) });
    return pipeThrough(raw, new VerifyingStream(d, undefined, `stored blob ${d}`));
  }

  /** Reads a small blob (manifest, config) whole, verified. */
  async readBytes(d: Digest, max: number = MAX_JSON_BLOB): Promise<Buffer> {
    const { size } = await this.stat(d);
    if (size > max) throw new KilnError('IMAGE_INVALID', `blob ${d} is ${size} bytes, more than the ${max} allowed for a manifest or config`);
    let buf: Buffer;
    try {
      buf = await readFile(this.path(d));
    } catch (e: unknown) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(d, e);
      throw e;
    }
    const got = `${digestAlgorithm(d)}:${createHash(digestAlgorithm(d)).update(buf).digest('hex')}`;
    if (got !== d) {
      throw new KilnError('DIGEST_MISMATCH', `stored blob ${d}: content has digest ${got}`, { hint: 'the store is corrupt: run `kiln store verify`' });
    }
    return buf;
  }

  /**
   * Streams `src` into the store: temp file → hash (and verify against `expect`) → fsync →
   * rename → fsync dir. On a mismatch, nothing is stored and DIGEST_MISMATCH is thrown.
   */
  async ingest(src: NodeJS.ReadableStream, expect?: Expect, signal?: AbortSignal): Promise<IngestResult> {
    if (expect && !isDigest(expect.digest)) throw new KilnError('DIGEST_INVALID', `invalid digest: ${JSON.stringify(expect.digest)}`);
    const tmp = tempName(this.tmpDir, 'ingest');
    const fh = await openFile(tmp, 'wx', 0o644);
    const check: Transform = expect
      ? new VerifyingStream(expect.digest, expect.size, `ingested content for ${expect.digest}`)
      : new HashingStream('sha256');
    let closed = false;
    try {
      await pipeline(src, check, fileSink(fh), ...(signal ? [{ signal }] : []));
      await fh.close();
      closed = true;
      const digest = expect ? expect.digest : (check as HashingStream).digest();
      const size = expect ? (expect.size ?? (await stat(tmp)).size) : (check as HashingStream).size();
      const dir = join(this.blobsDir, digestAlgorithm(digest));
      if (digestAlgorithm(digest) !== 'sha256') mkdirSync(dir, { recursive: true });
      await rename(tmp, this.path(digest));
      fsyncDir(dir);
      return { digest, size };
    } catch (e: unknown) {
      if (!closed) await fh.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      (src as unknown as { destroy?: () => void }).destroy?.();
      throw e;
    }
  }

  async ingestBytes(data: Uint8Array, expect?: Expect): Promise<IngestResult> {
    const s = new PassThrough();
    s.end(Buffer.from(data));
    return this.ingest(s, expect);
  }

  /**
   * Marks an existing blob as freshly used (mtime = now), so a gc with a grace period does not
   * sweep it between "already have it" and the tag that will reference it. False if absent.
   */
  touch(d: Digest): boolean {
    const now = new Date();
    try {
      utimesSync(this.path(d), now, now);
      return true;
    } catch {
      return false;
    }
  }

  /** Removes a blob; false when it was not there. */
  delete(d: Digest): boolean {
    try {
      unlinkSync(this.path(d));
      return true;
    } catch (e: unknown) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }

  /** Every stored blob (files whose names are not digests are ignored). */
  list(): Digest[] {
    const out: Digest[] = [];
    for (const alg of ['sha256', 'sha512']) {
      let names: string[];
      try {
        names = readdirSync(join(this.blobsDir, alg));
      } catch {
        continue;
      }
      for (const n of names.sort()) {
        const d = `${alg}:${n}`;
        if (isDigest(d)) out.push(d);
      }
    }
    return out;
  }

  sizeOf(d: Digest): number {
    try {
      return statSync(this.path(d)).size;
    } catch {
      return 0;
    }
  }
}

/** How much written data may wait in the page cache before fileSink starts its writeback. */
const WRITEBACK_CHUNK = 4 << 20;

/**
 * Writes to an open file; fsyncs it before finishing (the caller closes it). With the native
 * helper, every WRITEBACK_CHUNK written starts that range's writeback (sync_file_range on the
 * thread pool), so the disk writes while the rest streams in and the final fsync waits only for
 * the tail: a 200 MB pull otherwise spent ~0.2 s in that fsync (docs/design/store.md).
 */
function fileSink(fh: FileHandle): Writable {
  const sys = nativeSys();
  let written = 0;
  let started = 0;
  let inflight: Promise<unknown> = Promise.resolve();
  return new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _enc, cb) {
      writeAll(fh, chunk).then(() => {
        written += chunk.length;
        if (sys !== undefined && written - started >= WRITEBACK_CHUNK) {
          // a failed head start is only a slower fsync
          inflight = Promise.all([inflight, sys.startWriteback(fh.fd, started, written - started).catch(() => undefined)]);
          started = written;
        }
        cb();
      }, cb);
    },
    final(cb) {
      inflight.then(() => fh.sync()).then(() => cb(), cb);
    },
  });
}

async function writeAll(fh: FileHandle, buf: Buffer): Promise<void> {
  let off = 0;
  while (off < buf.length) off += (await fh.write(buf, off, buf.length - off)).bytesWritten;
}
