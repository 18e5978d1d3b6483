// Host side of RUN --mount=type=cache|secret|ssh: persistent cache directories (with
// sharing=shared|locked|private across processes, from= seeding), secret files kept off the
// rootfs (in memory when /dev/shm exists), and a per-step SSH agent proxy socket.
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { KilnError } from '../errors.js';
import type { RunMountPlan } from '../plan/index.js';
import { output, pidAlive, readAtMost, removeTree } from '../support/index.js';
import type { SecretSource } from './ports.js';

/** Takes `<path>.lock` (a file holding the owner's pid); stale locks of dead processes are broken. */
function tryLock(path: string): (() => void) | undefined {
  const lock = `${path}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          unlinkSync(lock);
        } catch {
          /* gone */
        }
      };
    } catch (e: unknown) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let owner = NaN;
      try {
        owner = Number(readFileSync(lock, 'utf8'));
      } catch {
        continue;
      }
      if (Number.isInteger(owner) && owner > 0 && pidAlive(owner)) return undefined;
      try {
        unlinkSync(lock);
      } catch {
        /* someone else broke it */
      }
    }
  }
  return undefined;
}

async function lock(path: string, signal: AbortSignal): Promise<() => void> {
  for (;;) {
    const release = tryLock(path);
    if (release) return release;
    signal.throwIfAborted();
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface CacheMountSeed {
  /** Host path of the content to start from (from= source, + source=). */
  readonly path: string;
  /** Identity of that content (a stage's output key, an image digest). */
  readonly id: string;
}

/** Creates a cache dir once (seeded, or empty with mode/owner), atomically. */
async function ensureCacheDir(dir: string, m: RunMountPlan, seed: CacheMountSeed | undefined, signal: AbortSignal): Promise<void> {
  if (existsSync(dir)) return;
  const tmp = `${dir}.new-${process.pid}-${Math.random().toString(16).slice(2)}`;
  mkdirSync(tmp, { recursive: true });
  try {
    if (seed) {
      if (!existsSync(seed.path)) throw new KilnError('CONTEXT_PATH_NOT_FOUND', `RUN --mount=type=cache,from=…: source ${m.source ?? '/'} not found`);
      if (statSync(seed.path).isDirectory()) await output('cp', ['-a', '--', `${seed.path}/.`, tmp], { signal });
      else await output('cp', ['-a', '--', seed.path, tmp], { signal });
    }
    if (!seed || m.mode !== undefined) chmodSync(tmp, m.mode ?? 0o755);
    if (!seed || m.uid !== undefined || m.gid !== undefined) chownSync(tmp, m.uid ?? 0, m.gid ?? 0);
    try {
      renameSync(tmp, dir);
    } catch {
      removeTree(tmp); // another build created it first
    }
  } catch (e) {
    removeTree(tmp);
    throw e;
  }
}

/**
 * The host directory for a cache mount and a release function. Cache dirs are keyed by id (default
 * the target) and, with from=, by the seed's identity (BuildKit keys them the same way).
 * shared: used by any number of steps at once; locked: one step at a time (others wait);
 * private: a step that finds the dir busy gets a directory of its own (id~1, id~2, ...), kept for reuse.
 */
export async function acquireCacheDir(stateDir: string, m: RunMountPlan, seed: CacheMountSeed | undefined, signal: AbortSignal): Promise<{ dir: string; release: () => void }> {
  const id = m.id ?? m.target;
  const name = createHash('sha256').update(seed ? `${id}\0${seed.id}` : id).digest('hex').slice(0, 32);
  const base = join(stateDir, 'cache-mounts');
  mkdirSync(base, { recursive: true });
  const sharing = m.sharing ?? 'shared';
  // the dir is filled (from= seed) while held; a failure gives the hold back
  const ready = async (dir: string, release: () => void): Promise<{ dir: string; release: () => void }> => {
    try {
      await ensureCacheDir(dir, m, seed, signal);
    } catch (e) {
      release();
      throw e;
    }
    return { dir, release };
  };
  if (sharing === 'private') {
    for (let n = 0; ; n++) {
      const dir = join(base, n === 0 ? name : `${name}~${n}`);
      const release = tryLock(dir);
      if (release) return ready(dir, release);
    }
  }
  const dir = join(base, name);
  return ready(dir, sharing === 'locked' ? await lock(dir, signal) : () => undefined);
}

/** A directory for secret files: in memory (/dev/shm) when possible, never inside the rootfs. */
function secretDir(fallback: string): string {
  for (const base of ['/dev/shm', fallback]) {
    try {
      mkdirSync(base, { recursive: true });
      const d = mkdtempSync(join(base, 'kiln-secret-'));
      chmodSync(d, 0o711);
      return d;
    } catch {
      /* try the next */
    }
  }
  throw new KilnError('IO', 'cannot create a directory for build secrets');
}

/** BuildKit's limit on one secret (secretsprovider.MaxSecretSize). */
export const MAX_SECRET_BYTES = 500 * 1024;

/** BuildKit's words for a secret over MAX_SECRET_BYTES. */
export function secretTooBig(id: string): KilnError {
  return new KilnError('USAGE', `secret ${id} too big. max size 500KB`, { hint: 'a secret is a token or a key; mount larger files with RUN --mount=type=bind from the context' });
}

export function readSecret(id: string, src: SecretSource | undefined): Buffer | undefined {
  if (!src) return undefined;
  if ('env' in src) {
    const v = process.env[src.env];
    return v === undefined ? undefined : Buffer.from(v, 'utf8');
  }
  let bytes: Buffer | undefined;
  try {
    // BuildKit refuses a secret over 500 KiB; a device or FIFO (its size unknown) is read up to that
    bytes = readAtMost(src.file, MAX_SECRET_BYTES);
  } catch (e: unknown) {
    throw new KilnError('SECRET_NOT_FOUND', `secret ${id}: cannot read ${src.file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, {
      hint: 'check the src= path given to --secret',
    });
  }
  if (bytes === undefined) throw secretTooBig(id);
  return bytes;
}

/** Writes one secret into a fresh host file with the mount's mode/owner; returns it and a cleanup. */
export function secretFile(tmpBase: string, m: RunMountPlan, value: Buffer): { file: string; cleanup: () => void } {
  const dir = secretDir(tmpBase);
  const file = join(dir, 'secret');
  writeFileSync(file, value, { mode: 0o600 });
  chownSync(file, m.uid ?? 0, m.gid ?? 0);
  chmodSync(file, m.mode ?? 0o400);
  return { file, cleanup: () => removeTree(dir) };
}

/**
 * A socket that forwards every connection to the SSH agent at `agent`, owned by uid:gid with
 * `mode` (default 0600), so a RUN under USER can reach it and sees no other host path.
 */
export async function sshProxy(tmpBase: string, agent: string, m: RunMountPlan): Promise<{ socket: string; close: () => Promise<void> }> {
  mkdirSync(tmpBase, { recursive: true });
  const dir = mkdtempSync(join(tmpBase, 'kiln-ssh-'));
  chmodSync(dir, 0o711);
  const socket = join(dir, 'agent.sock');
  const conns = new Set<Socket>();
  const server: Server = createServer((c) => {
    conns.add(c);
    const up = createConnection(agent);
    conns.add(up);
    c.pipe(up).pipe(c);
    const end = (): void => {
      c.destroy();
      up.destroy();
      conns.delete(c);
      conns.delete(up);
    };
    c.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(socket, () => res());
  });
  chownSync(socket, m.uid ?? 0, m.gid ?? 0);
  chmodSync(socket, m.mode ?? 0o600);
  return {
    socket,
    close: async () => {
      for (const c of conns) c.destroy();
      await new Promise<void>((res) => server.close(() => res()));
      removeTree(dir);
    },
  };
}
