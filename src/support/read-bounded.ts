// Reading a file a user names whose size kiln cannot trust: `-f /dev/zero`, a FIFO, a sparse file.
import { closeSync, openSync, readSync, statSync } from 'node:fs';

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
