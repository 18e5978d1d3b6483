// Named local build contexts (`--build-context NAME=DIR`): each directory is read like the build
// context (paths may not leave it, files owned by root), with the `.dockerignore` at its own root
// (BuildKit's named local contexts honour one; the Dockerfile's `<name>.dockerignore` does not
// apply) and its own stat cache, so what a COPY reads is keyed by content exactly as for the main
// context. `FROM NAME` of such a context starts from a snapshot holding the directory's files.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IgnoreMatcher, parseDockerignore } from '../context/index.js';
import { isKilnError } from '../errors.js';
import type { LocalSource } from '../plan/index.js';
import type { SnapshotId, Snapshotter } from '../snapshot/index.js';
import { cacheKey, type BuildCache, type KeyInputs } from './cache.js';
import { computeCopyDigest, executeCopy, type CopyRequest, type FileDigester } from './copy/index.js';
import { snapshotExists } from './base.js';
import { ContextStatCache } from './stat-cache.js';

export interface LocalContext {
  readonly dir: string;
  readonly ignore?: IgnoreMatcher;
  readonly stats: ContextStatCache;
}

export class LocalContexts {
  private readonly byDir = new Map<string, LocalContext>();

  constructor(private readonly stateDir: string) {}

  get(src: LocalSource): LocalContext {
    let c = this.byDir.get(src.dir);
    if (!c) {
      const file = join(src.dir, '.dockerignore');
      const ignore = existsSync(file) ? new IgnoreMatcher(parseDockerignore(readFileSync(file, 'utf8'), `${src.name}: .dockerignore`)) : undefined;
      c = { dir: src.dir, ...(ignore ? { ignore } : {}), stats: new ContextStatCache(this.stateDir, src.dir) };
      this.byDir.set(src.dir, c);
    }
    return c;
  }

  /** A request `req` reading from `src` as a context source (its root, its .dockerignore). */
  request<T extends Omit<CopyRequest, 'destRoot' | 'srcRoot'>>(src: LocalSource, req: T): T & { srcRoot: string } {
    const c = this.get(src);
    const { ignore: _drop, ...rest } = req;
    return { ...rest, srcKind: 'context', srcRoot: c.dir, ...(c.ignore ? { ignore: c.ignore } : {}) } as T & { srcRoot: string };
  }

  /** Digest of what `req` reads from `src`, with path → mode:digest of every file read. */
  async digest(src: LocalSource, req: Omit<CopyRequest, 'destRoot' | 'srcRoot'>, record: (root: string, inner: FileDigester, seen: Map<string, string>) => FileDigester, signal: AbortSignal): Promise<{ digest: string; files: Record<string, string> }> {
    const c = this.get(src);
    const seen = new Map<string, string>();
    const d = await computeCopyDigest(this.request(src, req), record(c.dir, c.stats.digester(), seen), signal).catch((e: unknown) => {
      throw namedError(e, src);
    });
    return { digest: d.digest, files: Object.fromEntries(seen) };
  }

  /** Files hashed (read / from the stat cache) across every named local context. */
  counters(): { reads: number; hits: number } {
    let reads = 0;
    let hits = 0;
    for (const c of this.byDir.values()) {
      reads += c.stats.counters.reads;
      hits += c.stats.counters.hits;
    }
    return { reads, hits };
  }

  save(): void {
    for (const c of this.byDir.values()) {
      try {
        c.stats.save();
      } catch {
        /* only a speed-up */
      }
    }
  }
}

/** Path errors name the named context, not "the build context". */
function namedError(e: unknown, src: LocalSource): unknown {
  if (!isKilnError(e)) return e;
  if (e.code === 'CONTEXT_PATH_NOT_FOUND') return e.with({ hint: `check that the path exists in build context ${src.name} (${src.dir}; paths are relative to it)` });
  if (e.code === 'CONTEXT_PATH_OUTSIDE') return e.with({ hint: `a named context is read like the build context: only files inside ${src.dir} (build context ${src.name}) can be copied` });
  return e;
}

/** The whole directory, as `COPY . /` from it would read it. */
export function wholeContext(sourceDateEpoch: number | undefined): Omit<CopyRequest, 'destRoot' | 'srcRoot'> {
  return { srcKind: 'context', sources: ['/'], inline: [], dest: '/', parents: false, excludes: [], link: false, ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {}) };
}

export interface LocalBase {
  readonly snapshot: SnapshotId;
  readonly key: string;
  readonly created: string;
  readonly cached: boolean;
}

/**
 * `FROM NAME` of a named local context: a snapshot (on nothing) holding the directory's files,
 * keyed by their content (paths, metadata, digests) and the platform, taken from the cache when
 * an earlier build made it.
 */
export async function localBase(
  src: LocalSource,
  platform: unknown,
  deps: { locals: LocalContexts; snapshotter: Snapshotter; cache: BuildCache; noCache: boolean; sourceDateEpoch?: number; created: () => string; record: (root: string, inner: FileDigester, seen: Map<string, string>) => FileDigester; stage: string },
  signal: AbortSignal,
): Promise<LocalBase> {
  const req = wholeContext(deps.sourceDateEpoch);
  const { digest, files } = await deps.locals.digest(src, req, deps.record, signal);
  const definition = cacheKey({ from: 'local-context', platform });
  const key = cacheKey({ v: 1, parent: null, definition, content: digest });
  const rec = deps.noCache ? undefined : deps.cache.get(key);
  if (rec && rec.snapshot !== null && snapshotExists(deps.snapshotter, rec.snapshot) && deps.snapshotter.parent(rec.snapshot) === null) {
    deps.cache.touch(key);
    return { snapshot: rec.snapshot, key, created: rec.created, cached: true };
  }
  const active = await deps.snapshotter.prepare(null, signal);
  let committed: SnapshotId;
  try {
    await executeCopy({ ...deps.locals.request(src, req), destRoot: active.rootfs }, signal);
    committed = await deps.snapshotter.commit(active);
  } catch (e: unknown) {
    await active.release().catch(() => undefined);
    throw e;
  }
  const created = deps.created();
  const inputs: KeyInputs = { parent: '', definition, content: digest, files };
  deps.cache.put(key, { snapshot: committed, created, inputs, meta: { stage: deps.stage, pos: '1', display: `FROM context ${src.name}` } });
  return { snapshot: committed, key, created, cached: false };
}
