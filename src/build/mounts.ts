// Host side of RUN --mount=type=cache|secret|ssh: persistent cache directories (with
// sharing=shared|locked|private across processes, from= seeding), secret files kept off the
// rootfs (in memory when /dev/shm exists), and a per-step SSH agent proxy socket.
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { KilnError } from '../errors.js';
import type { RunMountPlan } from '../plan/index.js';
import { output, pidAlive, readAtMostAsync, removeTree } from '../support/index.js';
import { resolveInRoot } from '../exec/index.js';
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
  /** Host path of the content to start from (from= source, + source=): a directory or a file. */
  readonly path: string;
  /** Identity of that content (a stage's output key, an image digest). */
  readonly id: string;
}

/**
 * What a cache mount shows, as BuildKit's Dockerfile frontend builds it (convert_runmount.go):
 * - 'root': the cache directory itself, or the `source=` path inside it (no from=);
 * - 'seed': from= content copied in once (the source= path of the stage/image/context), under
 *   `content` (a file stays a file);
 * - 'mkdir': uid=/gid=/mode= without source=: BuildKit mounts a directory /cache that it makes
 *   in the cache's base with those (the cache's identity includes them), so it starts empty.
 *   With source=, uid/gid/mode are ignored, as BuildKit ignores them.
 */
export type CacheLayout =
  | { readonly kind: 'root'; readonly source?: string }
  | { readonly kind: 'seed'; readonly seed: CacheMountSeed }
  | { readonly kind: 'mkdir'; readonly mode: number; readonly uid: number; readonly gid: number };

/** uid=/gid=/mode= without source=: the mount shows a fresh /cache directory, never from= content. */
export function freshCacheDir(m: RunMountPlan): boolean {
  return m.source === undefined && (m.mode !== undefined || m.uid !== undefined || m.gid !== undefined);
}

/** The layout of cache mount `m` (`seed` when it has from=). */
function cacheLayout(m: RunMountPlan, seed: CacheMountSeed | undefined): CacheLayout {
  if (freshCacheDir(m)) {
    return { kind: 'mkdir', mode: m.mode ?? 0o755, uid: m.uid ?? 0, gid: m.gid ?? 0 };
  }
  if (seed) return { kind: 'seed', seed };
  return m.source === undefined ? { kind: 'root' } : { kind: 'root', source: m.source };
}

/** The identity of a cache dir beside its id (none for a plain cache: one dir per id). */
function layoutKey(l: CacheLayout): string | undefined {
  if (l.kind === 'seed') return `seed2\0${l.seed.id}`; // seed2: content under content/
  if (l.kind === 'mkdir') return `mkdir\0${l.mode.toString(8)}\0${l.uid}\0${l.gid}`;
  return undefined;
}

/** Creates a cache dir once (empty, seeded, or with its /cache directory), atomically. */
async function ensureCacheDir(dir: string, l: CacheLayout, signal: AbortSignal): Promise<void> {
  if (existsSync(dir)) return;
  const tmp = `${dir}.new-${process.pid}-${Math.random().toString(16).slice(2)}`;
  mkdirSync(tmp, { recursive: true });
  try {
    chmodSync(tmp, 0o755);
    if (l.kind === 'seed') {
      if (!existsSync(l.seed.path)) throw new KilnError('CONTEXT_PATH_NOT_FOUND', `RUN --mount=type=cache,from=…: source not found`);
      await output('cp', ['-a', '--', l.seed.path, join(tmp, 'content')], { signal });
    } else if (l.kind === 'mkdir') {
      const c = join(tmp, 'cache');
      mkdirSync(c);
      chmodSync(c, l.mode);
      chownSync(c, l.uid, l.gid);
    }
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

/** The host path to mount for layout `l` of cache dir `dir`. */
function mountPath(dir: string, l: CacheLayout): string {
  if (l.kind === 'seed') return join(dir, 'content');
  if (l.kind === 'mkdir') return join(dir, 'cache');
  if (l.source === undefined) return dir;
  const p = resolveInRoot(dir, l.source);
  if (!existsSync(p)) {
    throw new KilnError('CONTEXT_PATH_NOT_FOUND', `RUN --mount=type=cache,source=${l.source}: ${l.source} is not in the cache`, {
      hint: 'without from=, source= picks a path inside the cache that an earlier step made; drop source= to mount the whole cache',
    });
  }
  return p;
}

/**
 * The host path to mount for cache mount `m` and a release function. Cache dirs are keyed by
 * id (default the target) and by what they start from (cacheLayout), as BuildKit keys them.
 * shared: used by any number of steps at once; locked: one step at a time (others wait);
 * private: a step that finds the dir busy gets a directory of its own (id~1, id~2, ...), kept for reuse.
 */
export async function acquireCacheDir(stateDir: string, m: RunMountPlan, seed: CacheMountSeed | undefined, signal: AbortSignal): Promise<{ dir: string; release: () => void }> {
  const id = m.id ?? m.target;
  const layout = cacheLayout(m, seed);
  const key = layoutKey(layout);
  const name = createHash('sha256').update(key === undefined ? id : `${id}\0${key}`).digest('hex').slice(0, 32);
  const base = join(stateDir, 'cache-mounts');
  mkdirSync(base, { recursive: true });
  const sharing = m.sharing ?? 'shared';
  // the dir is filled (from= seed) while held; a failure gives the hold back
  const ready = async (dir: string, release: () => void): Promise<{ dir: string; release: () => void }> => {
    try {
      await ensureCacheDir(dir, layout, signal);
      return { dir: mountPath(dir, layout), release };
    } catch (e) {
      release();
      throw e;
    }
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

/** A promise that rejects with the signal's reason when it aborts (never resolves). */
function abortion(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
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

/**
 * A secret's bytes (undefined when it was not given). A file is read off the main thread, and
 * the wait ends with the build (`signal`): a FIFO whose writer never comes must not hang it.
 */
export async function readSecret(id: string, src: SecretSource | undefined, signal?: AbortSignal): Promise<Buffer | undefined> {
  if (!src) return undefined;
  if ('env' in src) {
    const v = process.env[src.env];
    return v === undefined ? undefined : Buffer.from(v, 'utf8');
  }
  let bytes: Buffer | undefined;
  try {
    // BuildKit refuses a secret over 500 KiB; a device or FIFO (its size unknown) is read up to that
    const read = readAtMostAsync(src.file, MAX_SECRET_BYTES);
    read.catch(() => undefined); // an abandoned read (aborted) may still fail later
    bytes = signal === undefined ? await read : await Promise.race([read, abortion(signal)]);
  } catch (e: unknown) {
    if (signal?.aborted) throw signal.reason;
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
