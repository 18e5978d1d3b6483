// Small durable-filesystem helpers: fsync a directory, write a file atomically, temp names.
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync, constants } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';

/** Makes a rename/creation/unlink in `dir` durable. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A unique temp-file name that records the writer's pid (so a sweeper can tell it is abandoned). */
export function tempName(tmpDir: string, kind: string): string {
  return join(tmpDir, `${kind}-${process.pid}-${randomBytes(6).toString('hex')}`);
}

/** The pid a tempName() was made by, if the name has one. */
export function tempOwner(name: string): number | undefined {
  const m = /^[a-z]+-(\d+)-[0-9a-f]+$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

function writeTemp(data: Uint8Array | string, tmpDir: string): string {
  const tmp = tempName(tmpDir, 'write');
  const fd = openSync(tmp, 'wx', 0o644);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } catch (e: unknown) {
    closeSync(fd);
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw e;
  }
  closeSync(fd);
  return tmp;
}

/** write temp (in tmpDir, same filesystem) → fsync → rename over `path` → fsync the directory. */
export function writeFileAtomic(path: string, data: Uint8Array | string, tmpDir: string): void {
  const tmp = writeTemp(data, tmpDir);
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}

/**
 * Creates `path` with `data` only if it does not exist (link() never overwrites), complete or
 * not at all. Returns false when it already existed.
 */
export function createFileOnce(path: string, data: Uint8Array | string, tmpDir: string): boolean {
  const tmp = writeTemp(data, tmpDir);
  try {
    linkSync(tmp, path);
    fsyncDir(dirname(path));
    return true;
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    try { unlinkSync(tmp); } catch { /* ignore */ }
  }
}

export function readFileOrUndefined(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Is a process with this pid alive on this host? (EPERM means it exists but is not ours.) */
export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e: unknown) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Linux: a process's start time (field 22 of /proc/<pid>/stat), to tell a reused pid apart. */
export function pidStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}
