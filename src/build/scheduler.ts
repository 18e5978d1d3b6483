// Runs a DAG of jobs: each job starts as soon as its dependencies are done, at most
// `concurrency` at once, only jobs the targets reach are run, and the first failure (or the
// caller's abort) aborts the rest. Knows nothing about Dockerfiles (BuildKit's solver/ idea).
import { KilnError } from '../errors.js';
import { Semaphore } from '../support/index.js';
import { setMaxListeners } from 'node:events';

export interface Job<T> {
  readonly id: string;
  /** Ids of the jobs whose results this one needs before it starts, in the order `run` receives them. */
  readonly deps: readonly string[];
  /**
   * Ids of jobs this one needs only part-way (e.g. a stage's `COPY --from`): they are run (they
   * count for reachability) but this job starts without them and calls `waitFor(id)` when it
   * gets there, giving up its concurrency slot while it waits.
   */
  readonly after?: readonly string[];
  run(inputs: readonly T[], signal: AbortSignal, waitFor: (id: string) => Promise<T>): Promise<T>;
}

export type SchedulerEvent =
  | { readonly type: 'start'; readonly id: string }
  | { readonly type: 'done'; readonly id: string; readonly ms: number }
  | { readonly type: 'error'; readonly id: string; readonly error: unknown };

export interface RunGraphOptions {
  readonly concurrency: number;
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: SchedulerEvent) => void;
}

/** The ids reachable from `targets` through deps (targets included); throws on unknown ids and cycles. */
export function reachable<T>(jobs: ReadonlyMap<string, Job<T>>, targets: readonly string[]): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  // depth first with its own stack (a chain of thousands of stages would overflow Node's); a
  // job is listed after its deps
  const path: string[] = [];
  const frames: { id: string; deps: string[]; next: number }[] = [];
  const enter = (id: string): void => {
    const s = state.get(id);
    if (s === 'done') return;
    if (s === 'visiting') {
      const cycle = [...path.slice(path.indexOf(id)), id];
      throw new KilnError('STAGE_CYCLE', `circular dependency: ${cycle.join(' -> ')}`);
    }
    const job = jobs.get(id);
    if (!job) throw new KilnError('INTERNAL', `scheduler: unknown job ${id}${path.length ? ` (needed by ${path[path.length - 1]})` : ''}`);
    state.set(id, 'visiting');
    path.push(id);
    frames.push({ id, deps: [...job.deps, ...(job.after ?? [])], next: 0 });
  };
  for (const t of targets) {
    enter(t);
    while (frames.length > 0) {
      const f = frames[frames.length - 1]!;
      const d = f.deps[f.next++];
      if (d !== undefined) {
        enter(d);
        continue;
      }
      frames.pop();
      path.pop();
      state.set(f.id, 'done');
      order.push(f.id);
    }
  }
  return order;
}

/**
 * Runs every job reachable from `targets` and returns the results by id. On the first failure
 * the shared signal is aborted, running jobs are awaited (so they can clean up), and that first
 * error is thrown. An abort of `opts.signal` does the same with KilnError('ABORTED').
 */
export async function runGraph<T>(
  jobs: ReadonlyMap<string, Job<T>>,
  targets: readonly string[],
  opts: RunGraphOptions,
): Promise<Map<string, T>> {
  const ids = reachable(jobs, targets);
  const ctrl = new AbortController();
  // every running job listens to it (one listener per stage and step, not a leak): without this
  // Node warns from 11 stages on
  setMaxListeners(0, ctrl.signal);
  let firstError: unknown;
  const fail = (e: unknown): void => {
    if (firstError === undefined) firstError = e;
    if (!ctrl.signal.aborted) ctrl.abort(e);
  };
  const onOuterAbort = (): void => fail(new KilnError('ABORTED', 'build interrupted', { cause: opts.signal?.reason }));
  if (opts.signal?.aborted) onOuterAbort();
  else opts.signal?.addEventListener('abort', onOuterAbort, { once: true });

  const sem = new Semaphore(Math.max(1, opts.concurrency));
  const promises = new Map<string, Promise<T>>();
  const results = new Map<string, T>();

  for (const id of ids) {
    // ids are in dependency order (soft ones included), so every dep's promise exists already
    const job = jobs.get(id)!;
    const depPromises = job.deps.map((d) => promises.get(d)!);
    const allowed = new Set([...job.deps, ...(job.after ?? [])]);
    const p = (async (): Promise<T> => {
      const inputs = await Promise.all(depPromises);
      ctrl.signal.throwIfAborted();
      let release = await sem.acquire(ctrl.signal);
      const waitFor = async (dep: string): Promise<T> => {
        const dp = promises.get(dep);
        if (!dp || !allowed.has(dep)) throw new KilnError('INTERNAL', `scheduler: job ${id} waits for ${dep}, which is not among its dependencies`);
        if (results.has(dep)) return results.get(dep)!;
        release(); // let other jobs (the one we wait for, say) use the slot meanwhile
        try {
          return await dp;
        } finally {
          release = await sem.acquire(ctrl.signal);
        }
      };
      try {
        ctrl.signal.throwIfAborted();
        const t0 = performance.now();
        opts.onEvent?.({ type: 'start', id });
        const r = await job.run(inputs, ctrl.signal, waitFor);
        opts.onEvent?.({ type: 'done', id, ms: performance.now() - t0 });
        results.set(id, r);
        return r;
      } catch (e: unknown) {
        if (!ctrl.signal.aborted || e !== ctrl.signal.reason) opts.onEvent?.({ type: 'error', id, error: e });
        fail(e);
        throw e;
      } finally {
        release();
      }
    })();
    p.catch(() => undefined); // observed through allSettled below
    promises.set(id, p);
  }

  await Promise.allSettled(promises.values());
  opts.signal?.removeEventListener('abort', onOuterAbort);
  if (firstError !== undefined) throw firstError;
  return results;
}
