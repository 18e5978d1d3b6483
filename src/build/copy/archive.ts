// ADD's archive handling: a local regular file whose (decompressed) first block is a valid tar
// header is an archive (compression sniffed from content: gzip, bzip2, xz, zstd — never from the
// name). It is extracted like moby's chrootarchive.Untar by layer/'s applier in 'untar' mode:
// entries confined to the destination (symlinks in it resolve as in a chroot), existing paths
// replaced unless dir-on-dir, owner, mode, mtime and xattrs from the tar, whiteout names written
// as plain files.
import { spawn as nodeSpawn } from 'node:child_process';
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { KilnError, isKilnError } from '../../errors.js';
import { applyLayer, looksLikeTarHeader } from '../../layer/index.js';
import { gunzipMembers } from './gunzip.js';
import { lstatOrUndefined } from './paths.js';

type Compression = 'none' | 'gzip' | 'bzip2' | 'xz' | 'zstd';

function sniff(head: Buffer): Compression {
  if (head.length >= 3 && head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08) return 'gzip';
  if (head.length >= 3 && head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

const TOOL: Record<'bzip2' | 'xz' | 'zstd', string> = { bzip2: 'bzip2', xz: 'xz', zstd: 'zstd' };

/** The decompressed bytes of `path`, with a promise that rejects if the decompressor fails. */
function openDecompressed(path: string, c: Compression): { stream: Readable; done: Promise<void>; close: () => void } {
  if (c === 'none' || c === 'gzip') {
    const file = createReadStream(path, { highWaterMark: 1 << 20 });
    if (c === 'none') return { stream: file, done: Promise.resolve(), close: () => file.destroy() };
    const gunzip = Readable.from(gunzipMembers(file), { objectMode: false });
    return { stream: gunzip, done: Promise.resolve(), close: () => { gunzip.destroy(); file.destroy(); } };
  }
  const fd = openSync(path, 'r');
  const child = nodeSpawn(TOOL[c], ['-d', '-c'], { stdio: [fd, 'pipe', 'pipe'], shell: false });
  closeSync(fd);
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => { if (stderr.length < 4096) stderr += b.toString(); });
  let killed = false;
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0 || killed) resolve();
      else reject(new KilnError('ARCHIVE_INVALID', `cannot decompress ${posix.basename(path)} (${c}): ${stderr.trim() || `exit ${code}`}`));
    });
  });
  return { stream: child.stdout!, done, close: () => { killed = true; child.kill('SIGKILL'); } };
}

async function readHead(stream: Readable, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let have = 0;
  try {
    for await (const c of stream) {
      chunks.push(c as Buffer);
      have += (c as Buffer).length;
      if (have >= n) break;
    }
  } catch {
    /* a corrupt stream is simply not an archive */
  }
  return Buffer.concat(chunks).subarray(0, n);
}

/** Sniffs the compression of a regular file (reads its first bytes). */
export function sniffFile(path: string): Compression {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(6);
    const n = readSync(fd, head, 0, 6, 0);
    return sniff(head.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}

/** BuildKit's isArchivePath: a regular file that decompresses to something starting with a tar header. */
export async function isArchive(path: string): Promise<boolean> {
  const st = lstatOrUndefined(path);
  if (!st?.isFile()) return false;
  const c = sniffFile(path);
  const d = openDecompressed(path, c);
  try {
    const head = await readHead(d.stream, 1024);
    if (head.length < 512) return false;
    if (looksLikeTarHeader(head.subarray(0, 512))) return true;
    // two zero blocks are an empty archive (io.EOF → not an archive); one zero block then a header is fine
    return head.subarray(0, 512).every((b) => b === 0) && looksLikeTarHeader(head.subarray(512, 1024));
  } finally {
    d.close();
    await d.done.catch(() => undefined);
  }
}

function archiveError(name: string, why: string): KilnError {
  return new KilnError('ARCHIVE_INVALID', `cannot extract ${JSON.stringify(name)}: ${why}`, {
    hint: 'the archive is corrupt or unsafe; use ADD --unpack=false (or COPY) to copy it without extracting',
  });
}

/**
 * Extracts the archive at `archivePath` into the existing directory `destDir` with layer/'s
 * applier in its 'untar' mode (moby's chrootarchive.Untar semantics: see UntarOptions).
 */
export async function extractArchive(archivePath: string, destDir: string, signal?: AbortSignal): Promise<void> {
  const name = posix.basename(archivePath);
  const d = openDecompressed(archivePath, sniffFile(archivePath));
  try {
    await applyLayer(d.stream, destDir, { untar: { problem: (why) => archiveError(name, why) }, ...(signal ? { signal } : {}) });
  } catch (e) {
    if (isKilnError(e)) throw e;
    throw archiveError(name, (e as Error).message);
  } finally {
    d.close();
  }
  await d.done;
}
