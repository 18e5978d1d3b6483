// ADD's archive handling: a local regular file whose (decompressed) first block is a valid tar
// header is an archive (compression sniffed from content: gzip, bzip2, xz, zstd — never from the
// name). It is extracted like moby's chrootarchive.Untar: entries confined to the destination
// (symlinks in it resolve as in a chroot), existing paths replaced unless dir-on-dir, owner from
// the tar or --chown, mode/mtime/xattrs from the tar, whiteout names written as plain files.
import { spawn as nodeSpawn, spawnSync } from 'node:child_process';
import {
  chmodSync, closeSync, constants, createReadStream, linkSync, lchownSync, lutimesSync, mkdirSync, openSync, readSync,
  rmSync, symlinkSync, unlinkSync, writeSync,
} from 'node:fs';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import * as xattr from 'fs-xattr';
import { KilnError, isKilnError } from '../../errors.js';
import { resolveInRoot } from '../../exec/index.js';
import { readTar, type TarHeader } from '../../layer/index.js';
import { IS_ROOT } from './copier.js';
import type { Owner } from './owner.js';
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
    const gunzip = createGunzip({ chunkSize: 256 << 10 });
    file.on('error', (e) => gunzip.destroy(e));
    file.pipe(gunzip);
    return { stream: gunzip, done: Promise.resolve(), close: () => { file.destroy(); gunzip.destroy(); } };
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

/** Go archive/tar's header check: the first non-zero block must carry a valid checksum. */
function isTarHeader(block: Buffer): boolean {
  if (block.length < 512) return false;
  const field = block.subarray(148, 156).toString('latin1').replace(/[\0 ]+$/, '').replace(/^[\0 ]+/, '');
  if (!/^[0-7]+$/.test(field)) return false;
  const want = parseInt(field, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < 512; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return want === unsigned || want === signed;
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
    if (isTarHeader(head.subarray(0, 512))) return true;
    // two zero blocks are an empty archive (io.EOF → not an archive); one zero block then a header is fine
    return head.subarray(0, 512).every((b) => b === 0) && isTarHeader(head.subarray(512, 1024));
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

/** Cleans an entry name relative to the extraction root; throws for a path leaving it. */
function entryParts(name: string, archive: string): string[] {
  const parts: string[] = [];
  for (const p of name.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') {
      if (parts.length === 0) throw archiveError(archive, `entry ${JSON.stringify(name)} points outside the destination`);
      parts.pop();
    } else parts.push(p);
  }
  return parts;
}

function mknod(path: string, args: string[]): void {
  const r = spawnSync('/usr/bin/mknod', [path, ...args], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new KilnError('IO', `cannot create device node ${path}: ${(r.stderr || r.error?.message || 'failed').trim()}`, {
      hint: IS_ROOT ? undefined : 'device nodes can only be created as root',
    });
  }
}

/** Whether a relative symlink target, seen from a directory `depth` levels down, climbs above the root. */
function linkEscapes(depth: number, target: string): boolean {
  if (target.startsWith('/')) return false; // moby joins it under the destination
  let d = depth;
  for (const c of target.split('/')) {
    if (c === '..') {
      if (--d < 0) return true;
    } else if (c !== '' && c !== '.') d++;
  }
  return false;
}

/**
 * Extracts the archive at `archivePath` into the existing directory `destDir`.
 * `chown` (from --chown) overrides the tar's ownership of every entry and of created parents.
 */
export async function extractArchive(archivePath: string, destDir: string, chown: Owner | undefined, signal?: AbortSignal): Promise<void> {
  const name = posix.basename(archivePath);
  const d = openDecompressed(archivePath, sniffFile(archivePath));
  const dirs: { abs: string; h: TarHeader }[] = [];
  const setOwner = (abs: string, h: { uid: number; gid: number }): void => {
    if (IS_ROOT) lchownSync(abs, chown?.uid ?? h.uid, chown?.gid ?? h.gid);
  };
  const parentDir = (parts: string[]): string => {
    let cur = destDir;
    for (let i = 0; i < parts.length; i++) {
      const host = resolveInRoot(destDir, parts.slice(0, i + 1).join('/'));
      const st = lstatOrUndefined(host);
      if (!st) {
        mkdirSync(host, 0o755); // moby's implied directories: 0755, root-owned even with --chown
        chmodSync(host, 0o755);
        if (IS_ROOT) lchownSync(host, 0, 0);
      } else if (!st.isDirectory()) {
        throw archiveError(name, `${parts.slice(0, i + 1).join('/')} is not a directory`);
      }
      cur = host;
    }
    return cur;
  };
  try {
    for await (const { header: h, body } of readTar(d.stream, { errorCode: 'ARCHIVE_INVALID', ...(signal ? { signal } : {}) })) {
      const parts = entryParts(h.name, name);
      if (parts.length === 0) continue; // "./": the destination itself keeps its metadata
      const base = parts[parts.length - 1]!;
      const abs = `${parentDir(parts.slice(0, -1))}/${base}`;
      let linkTarget: string | undefined;
      if (h.type === 'link') {
        const lp = entryParts(h.linkname ?? '', name);
        linkTarget = resolveInRoot(destDir, lp.join('/'));
        const lst = lstatOrUndefined(linkTarget);
        if (lp.length === 0 || !lst || lst.isDirectory()) throw archiveError(name, `hardlink ${JSON.stringify(h.name)} points at ${JSON.stringify(h.linkname)}, which is not a file in the archive`);
      }
      if (h.type === 'symlink' && linkEscapes(parts.length - 1, h.linkname ?? '')) {
        // moby: Join(Dir(path), linkname) must stay inside the destination
        throw archiveError(name, `symlink ${JSON.stringify(h.name)} points outside the destination`);
      }
      const existing = lstatOrUndefined(abs);
      if (existing && !(existing.isDirectory() && h.type === 'dir')) {
        if (existing.isDirectory()) rmSync(abs, { recursive: true, force: true });
        else unlinkSync(abs);
      }
      switch (h.type) {
        case 'file': {
          const fd = openSync(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
          try {
            for await (const chunk of body) {
              let off = 0;
              while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
            }
          } finally {
            closeSync(fd);
          }
          break;
        }
        case 'dir':
          if (!existing?.isDirectory()) mkdirSync(abs, 0o700);
          break;
        case 'symlink':
          symlinkSync(h.linkname ?? '', abs);
          break;
        case 'link':
          linkSync(linkTarget!, abs);
          break;
        case 'fifo':
          mknod(abs, ['p']);
          break;
        case 'char':
        case 'block':
          mknod(abs, [h.type === 'char' ? 'c' : 'b', String(h.devmajor ?? 0), String(h.devminor ?? 0)]);
          break;
      }
      setOwner(abs, h);
      if (h.type !== 'symlink') chmodSync(abs, h.mode & 0o7777);
      if (h.xattrs) {
        for (const [k, v] of h.xattrs) {
          try {
            if (h.type !== 'symlink') xattr.setAttributeSync(abs, k, v);
          } catch {
            /* BestEffortXattrs */
          }
        }
      }
      if (h.type === 'dir') dirs.push({ abs, h });
      else if (h.type !== 'link') setTimes(abs, h);
    }
  } catch (e) {
    if (isKilnError(e)) throw e;
    throw archiveError(name, (e as Error).message);
  } finally {
    d.close();
  }
  await d.done;
  for (const { abs, h } of dirs.reverse()) setTimes(abs, h);
}

/** moby: mtime from the header, atime never before it. */
function setTimes(abs: string, h: TarHeader): void {
  const mtime = h.mtime + (h.mtimeNsec ?? 0) / 1e9;
  lutimesSync(abs, Math.max(h.atime ?? mtime, mtime), mtime);
}
