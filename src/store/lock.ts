// An exclusive lock between kiln processes sharing one store: a lock file created atomically
// (write a temp file with our identity, then link() it into place — link fails if the lock
// exists), broken when its holder is provably dead (same host, pid gone or reused).
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { KilnError } from '../errors.js';
import { pidAlive, pidStartTime, tempName } from './fsutil.js';

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly start?: string;
  readonly token: string;
  readonly since: string;
}

export interface LockOptions {
  /** How long to wait for another holder before STORE_LOCKED (default 60 s). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

function readOwner(path: string): LockOwner | undefined | 'gone' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw e;
  }
  try {
    const o = JSON.parse(text) as LockOwner;
    return typeof o.pid === 'number' && typeof o.token === 'string' ? o : undefined;
  } catch {
    return undefined;
  }
}

/** True when the owner certainly no longer holds the lock. */
function isStale(o: LockOwner): boolean {
  if (o.host !== hostname()) return false; // cannot see other hosts' processes
  if (!pidAlive(o.pid)) return true;
  const start = pidStartTime(o.pid);
  return o.start !== undefined && start !== undefined && start !== o.start;
}

export class StoreLock {
  private constructor(
    readonly path: string,
    private readonly token: string,
  ) {}

  static async acquire(path: string, tmpDir: string, opts: LockOptions = {}): Promise<StoreLock> {
    const token = randomBytes(12).toString('hex');
    const me: LockOwner = {
      pid: process.pid,
      host: hostname(),
      ...(pidStartTime(process.pid) !== undefined ? { start: pidStartTime(process.pid)! } : {}),
      token,
      since: new Date().toISOString(),
    };
    const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
    let delay = 2;
    let unreadableSince: number | undefined;
    for (;;) {
      opts.signal?.throwIfAborted();
      const tmp = tempName(tmpDir, 'lock');
      writeFileSync(tmp, JSON.stringify(me), { mode: 0o644 });
      try {
        linkSync(tmp, path);
        return new StoreLock(path, token);
      } catch (e: unknown) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      } finally {
        try { unlinkSync(tmp); } catch { /* ignore */ }
      }
      const owner = readOwner(path);
      if (owner === 'gone') continue;
      if (owner === undefined) {
        // Never written by kiln (we link complete files); treat as stale after a grace period.
        unreadableSince ??= Date.now();
        if (Date.now() - unreadableSince > 2000) breakLock(path, undefined);
      } else if (isStale(owner)) {
        breakLock(path, owner.token);
        continue;
      }
      if (Date.now() > deadline) {
        throw new KilnError('STORE_LOCKED', `the store is locked by ${owner === undefined ? 'an unknown process' : `pid ${owner.pid} on ${owner.host} since ${owner.since}`}`, {
          hint: `wait for the other kiln process to finish; if none is running, remove ${path}`,
        });
      }
      await sleep(delay, undefined, opts.signal ? { signal: opts.signal } : {});
      delay = Math.min(delay * 2, 100);
    }
  }

  /** Releases the lock if we still hold it. */
  release(): void {
    const o = readOwner(this.path);
    if (o !== 'gone' && o !== undefined && o.token === this.token) {
      try { unlinkSync(this.path); } catch { /* already gone */ }
    }
  }
}

/**
 * Removes a stale lock. Moving it aside first makes the removal atomic; if what we moved turns
 * out to be a fresh lock (someone broke and re-took it in between), it is linked back.
 */
function breakLock(path: string, staleToken: string | undefined): void {
  const aside = `${path}.broken-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    renameSync(path, aside);
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  const moved = readOwner(aside);
  if (moved !== 'gone' && moved !== undefined && moved.token !== staleToken) {
    try { linkSync(aside, path); } catch { /* someone holds it now; theirs wins */ }
  }
  try { unlinkSync(aside); } catch { /* ignore */ }
}

export async function withLock<T>(path: string, tmpDir: string, fn: () => Promise<T> | T, opts: LockOptions = {}): Promise<T> {
  const lock = await StoreLock.acquire(path, tmpDir, opts);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
