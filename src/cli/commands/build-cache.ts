// `kiln build --cache-from / --cache-to`: reading the shared caches before the build (a missing or
// unreadable cache is a warning, like buildx) and writing the export after it (a failure fails the
// build unless ignore-error=true), each shown as a progress item.
import { KilnError } from '../../errors.js';
import {
  ImportedCaches,
  cacheName,
  collectCache,
  loadCache,
  saveCache,
  type BuildResult,
  type CacheLocation,
  type LoadedCache,
} from '../../build/index.js';
import type { BuildPlan } from '../../plan/index.js';
import type { ProgressEmitter } from '../../progress/index.js';
import { RegistryClient, type RegistryClientOptions } from '../../registry/index.js';
import type { Snapshotter } from '../../snapshot/index.js';
import type { Store } from '../../store/index.js';
import type { CacheToSpec } from './cache-spec.js';

export interface BuildCacheDeps {
  readonly store: Store;
  readonly snapshotter: Snapshotter;
  readonly stateDir: string;
  readonly client: (domain: string) => RegistryClient;
  readonly progress: ProgressEmitter;
  readonly compression: 'gzip' | 'zstd';
  readonly sourceDateEpoch?: number;
}

/** One registry client per domain for the whole build (shared auth tokens and connections). */
export function registryClients(opts: RegistryClientOptions): { get: (domain: string) => RegistryClient; close: () => void } {
  const clients = new Map<string, RegistryClient>();
  return {
    get: (domain) => {
      let c = clients.get(domain);
      if (!c) {
        c = new RegistryClient(domain, opts);
        clients.set(domain, c);
      }
      return c;
    },
    close: () => {
      for (const c of clients.values()) c.close();
    },
  };
}

const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

const isAbort = (e: unknown): boolean => e instanceof KilnError && e.code === 'ABORTED';

/** Loads every --cache-from (in parallel); undefined when none could be read. */
export async function importCaches(locs: readonly CacheLocation[], deps: BuildCacheDeps, signal: AbortSignal): Promise<ImportedCaches | undefined> {
  if (locs.length === 0) return undefined;
  const loaded = await Promise.all(
    locs.map(async (loc): Promise<LoadedCache | undefined> => {
      const id = deps.progress.start('', `importing cache manifest from ${cacheName(loc).replace(/^\w+ cache /, '')}`);
      const t0 = performance.now();
      try {
        const c = await loadCache(loc, { store: deps.store, client: deps.client }, signal);
        deps.progress.done(id, performance.now() - t0);
        return c;
      } catch (e: unknown) {
        if (isAbort(e) || signal.aborted) throw e;
        deps.progress.done(id, performance.now() - t0);
        deps.progress.warn(`failed to import the ${cacheName(loc)}: ${e instanceof Error ? e.message : String(e)}`);
        return undefined;
      }
    }),
  );
  const ok = loaded.filter((c): c is LoadedCache => c !== undefined);
  if (ok.length === 0) return undefined;
  return new ImportedCaches(ok, { store: deps.store, snapshotter: deps.snapshotter, stateDir: deps.stateDir, warn: (m) => deps.progress.warn(m) }, {
    compression: deps.compression,
    ...(deps.sourceDateEpoch !== undefined ? { sourceDateEpoch: deps.sourceDateEpoch } : {}),
  });
}

/** Writes the build's cache to every --cache-to. */
export async function exportCaches(specs: readonly CacheToSpec[], plan: BuildPlan, result: BuildResult, deps: BuildCacheDeps, signal: AbortSignal): Promise<void> {
  for (const spec of specs) {
    const id = deps.progress.start('', `exporting cache to ${cacheName(spec.location).replace(/^\w+ cache /, '')} (mode=${spec.mode})`);
    const t0 = performance.now();
    try {
      const art = await collectCache(plan, result, spec.mode, { store: deps.store, snapshotter: deps.snapshotter, stateDir: deps.stateDir }, {
        compression: deps.compression,
        signal,
        ...(deps.sourceDateEpoch !== undefined ? { sourceDateEpoch: deps.sourceDateEpoch } : {}),
      });
      const r = await saveCache(spec.location, art, { store: deps.store, client: deps.client }, signal);
      deps.progress.log(id, 'stdout', `${plural(art.records, 'step')}, ${plural(art.layers.length, 'layer')} (${plural(r.written, 'blob')} written, ${r.existing} already there), manifest ${art.manifestDigest}\n`);
      deps.progress.done(id, performance.now() - t0);
    } catch (e: unknown) {
      if (isAbort(e) || signal.aborted || !spec.ignoreError) {
        const err = e instanceof KilnError ? e : new KilnError('IO', e instanceof Error ? e.message : String(e), { cause: e });
        deps.progress.error(id, err.message);
        throw err.code === 'ABORTED' ? err : new KilnError(err.code, `exporting the ${cacheName(spec.location)} failed: ${err.message}`, { cause: err, hint: err.details.hint ?? 'add ignore-error=true to --cache-to to keep the image when the cache cannot be written' });
      }
      deps.progress.done(id, performance.now() - t0);
      deps.progress.warn(`exporting the ${cacheName(spec.location)} failed (ignored): ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
