// Reading a file a user names whose size kiln cannot trust: `-f /dev/zero`, a FIFO, a sparse file.
import { closeSync, constants, openSync, readSync, statSync } from 'node:fs';
import { Socket } from 'node:net';
import { open, stat } from 'node:fs/promises';

/**
 * The bytes of `path`, or undefined when it holds more than `max`: a regular file is judged by its
 * size before a byte is read, anything else (a device, a FIFO) is read in chunks up to `max`.
 * Errors of stat, open and read pass through.
 */
export function readAtMost(path: string, max: number): Buffer | undefined {
  const st = statSync(path);
  if (st.isFile() && st.size > max) return undefined;
  const fd = openSync(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    const buf = Buffer.allocUnsafe(Math.min(1024 * 1024, max + 1));
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) {
      total += n;
      if (total > max) return undefined;
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

/**
 * readAtMost without blocking the main thread: a FIFO whose writer never comes (`--secret
 * src=FIFO`) waits on libuv's thread pool, so Ctrl-C still stops the build.
 */
export async function readAtMostAsync(path: string, max: number): Promise<Buffer | undefined> {
  const st = await stat(path);
  if (st.isFile() && st.size > max) return undefined;
  if (st.isFIFO()) return readFifoAtMost(path, max);
  const fh = await open(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    const buf = Buffer.allocUnsafe(Math.min(1024 * 1024, max + 1));
    for (let n = (await fh.read(buf, 0, buf.length)).bytesRead; n > 0; n = (await fh.read(buf, 0, buf.length)).bytesRead) {
      total += n;
      if (total > max) return undefined;
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    return Buffer.concat(chunks, total);
  } finally {
    await fh.close();
  }
}

/**
 * A FIFO, read through the event loop: opened non-blocking (no wait for a writer) and polled as
 * a pipe. A blocking open or read would sit on libuv's thread pool, and Node waits for that pool
 * when it exits, so an interrupted build would never end.
 */
function readFifoAtMost(path: string, max: number): Promise<Buffer | undefined> {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  return new Promise((resolve, reject) => {
    const sock = new Socket({ fd, readable: true, writable: false });
    const chunks: Buffer[] = [];
    let total = 0;
    sock.on('data', (b: Buffer) => {
      total += b.length;
      if (total > max) {
        sock.destroy();
        resolve(undefined);
      } else chunks.push(b);
    });
    sock.on('end', () => resolve(Buffer.concat(chunks, total)));
    sock.on('error', reject);
  });
}
