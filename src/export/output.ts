// Writing outputs safely: a file is written to a temp name beside it, fsynced and renamed into
// place, so a crash or an error never leaves a half-written archive or blob under the real name.
// A destination that is not a regular file is written through, as buildx writes it: a device
// (dest=/dev/null), a FIFO, a socket; a symlink is followed to the file it names. Renaming over
// them would replace /dev/null with a regular file.
import { closeSync, fsyncSync, lstatSync, openSync, readlinkSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { open as openFile, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { KilnError } from '../errors.js';
import { makeDirs } from '../support/index.js';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

function tempBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.kiln-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
}

/** Where a file output goes: straight into a device/FIFO/socket, else atomically at the file a symlink names. */
function destination(path: string): { readonly direct: boolean; readonly path: string } {
  let st;
  try {
    st = statSync(path); // follows symlinks
  } catch {
    st = undefined;
  }
  if (st?.isDirectory()) throw new KilnError('IO', `cannot write the output to ${path}: it is a directory`, { hint: 'name a file, e.g. dest=out.tar' });
  if (st && !st.isFile()) return { direct: true, path };
  try {
    return { direct: false, path: realpathSync(path) };
  } catch {
    /* missing, or a dangling symlink */
  }
  try {
    if (lstatSync(path).isSymbolicLink()) return { direct: false, path: resolve(dirname(path), readlinkSync(path)) };
  } catch {
    /* missing */
  }
  return { direct: false, path };
}

function makeParent(path: string): void {
  try {
    makeDirs(dirname(path));
  } catch (e: unknown) {
    throw new KilnError('IO', `cannot create the directory for ${path}: ${(e as Error).message}`, { cause: e, hint: 'write the output below a directory you can create files in' });
  }
}

/** A Writable over an open file; `sync`: fsync it at the end (not for a device or FIFO). */
function sinkTo(fh: FileHandle, sync: boolean): Writable {
  return new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _enc, cb) {
      (async () => {
        let off = 0;
        while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
      })().then(() => cb(), cb);
    },
    final(cb) {
      if (!sync) return cb();
      fh.sync().then(() => cb(), cb);
    },
  });
}

/** Streams `src` into `path` atomically (temp file, fsync, rename), or into the device/FIFO `path` is. */
export async function writeStreamAtomic(path: string, src: NodeJS.ReadableStream | AsyncIterable<Buffer>, signal?: AbortSignal): Promise<void> {
  const dest = destination(path);
  if (dest.direct) {
    const fh = await openFile(dest.path, 'w');
    try {
      await pipeline(src as NodeJS.ReadableStream, sinkTo(fh, false), ...(signal ? [{ signal }] : []));
    } finally {
      await fh.close().catch(() => undefined);
    }
    return;
  }
  path = dest.path;
  makeParent(path);
  const tmp = tempBeside(path);
  const fh = await openFile(tmp, 'wx', 0o644);
  let closed = false;
  try {
    await pipeline(src as NodeJS.ReadableStream, sinkTo(fh, true), ...(signal ? [{ signal }] : []));
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
  makeParent(path);
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
