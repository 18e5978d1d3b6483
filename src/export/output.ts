// Writing outputs safely: a file is written to a temp name beside it, fsynced and renamed into
// place, so a crash or an error never leaves a half-written archive or blob under the real name.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

function tempBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.kiln-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
}

/** Streams `src` into `path` atomically (temp file, fsync, rename). */
export async function writeStreamAtomic(path: string, src: NodeJS.ReadableStream | AsyncIterable<Buffer>, signal?: AbortSignal): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempBeside(path);
  const fh = await openFile(tmp, 'wx', 0o644);
  let closed = false;
  try {
    const sink = new Writable({
      highWaterMark: 1 << 20,
      write(chunk: Buffer, _enc, cb) {
        (async () => {
          let off = 0;
          while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
        })().then(() => cb(), cb);
      },
      final(cb) {
        fh.sync().then(() => cb(), cb);
      },
    });
    await pipeline(src as NodeJS.ReadableStream, sink, ...(signal ? [{ signal }] : []));
    await fh.close();
    closed = true;
    renameSync(tmp, path);
    fsyncDirSync(dirname(path));
  } catch (e: unknown) {
    if (!closed) await fh.close().catch(() => undefined);
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw e;
  }
}

/** Writes small bytes to `path` atomically. */
export function writeBytesAtomic(path: string, data: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempBeside(path);
  const fd = openSync(tmp, 'wx', 0o644);
  try {
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    fsyncSync(fd);
  } catch (e: unknown) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
  fsyncDirSync(dirname(path));
}

function fsyncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    /* some filesystems refuse fsync on directories */
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
