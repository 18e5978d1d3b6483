// Runs writeTree/writeChanges or applyLayer in a worker thread (worker.ts): the sync per-file
// fs work leaves the main thread, which keeps compressing, hashing and drawing progress. Same
// results and errors (KilnError codes are carried across) as the in-thread functions.
import { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { KilnError, type ErrorCode } from '../errors.js';
import type { ApplyOptions, ApplyResult } from './apply.js';
import type { Change } from './changes.js';
import type { WriteOptions } from './pack.js';
import type { TarSource } from './tar-reader.js';

export type WorkerJob =
  | { kind: 'apply'; root: string; opts: Omit<ApplyOptions, 'signal'>; window: number }
  | { kind: 'pack'; dir: string; changes?: Change[]; opts: Omit<WriteOptions, 'signal'>; window: number };

export interface WorkerError {
  /** True when the worker threw a KilnError (then `code` is an ErrorCode). */
  kiln?: boolean;
  code?: string;
  message: string;
  hint?: string;
}

const WINDOW = 8; // chunks in flight between the threads
// scripts/bundle.mjs defines KILN_WORKER_PATH: in the one-file CLI (dist/kiln.cjs) this module's
// URL is the bundle's, and the worker stays the compiled dist/src/layer/worker.js.
declare const KILN_WORKER_PATH: string | undefined;
const WORKER_URL = new URL(typeof KILN_WORKER_PATH === 'string' ? KILN_WORKER_PATH : './worker.js', import.meta.url);

function toError(e: WorkerError): KilnError {
  const code: ErrorCode = e.kiln ? (e.code as ErrorCode) : /^E[A-Z]+$/.test(e.code ?? '') ? 'IO' : 'INTERNAL';
  return new KilnError(code, e.message, e.hint ? { hint: e.hint } : {});
}

type Msg = 'ack' | Uint8Array | { done: unknown } | { error: WorkerError };

/** applyLayer in a worker thread. The tar is read (and decompressed) on this thread. */
export async function applyLayerInWorker(tar: TarSource, rootDir: string, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const { signal, ...plain } = opts;
  signal?.throwIfAborted();
  const worker = new Worker(WORKER_URL, { workerData: { kind: 'apply', root: rootDir, opts: plain, window: WINDOW } satisfies WorkerJob });
  let inflight = 0;
  let wake: (() => void) | undefined;
  let outcome: { done: ApplyResult } | { error: KilnError } | undefined;
  const settle = (o: typeof outcome) => {
    outcome ??= o;
    wake?.();
  };
  worker.on('message', (m: Msg) => {
    if (m === 'ack') inflight--;
    else if (typeof m === 'object' && 'done' in m) settle({ done: m.done as ApplyResult });
    else if (typeof m === 'object' && 'error' in m) settle({ error: toError(m.error) });
    wake?.();
  });
  worker.on('error', (e) => settle({ error: new KilnError('INTERNAL', `layer worker failed: ${e.message}`, { cause: e }) }));
  worker.on('exit', () => settle({ error: new KilnError('INTERNAL', 'layer worker exited early') }));
  const onAbort = () => settle({ error: new KilnError('ABORTED', 'operation aborted') });
  signal?.addEventListener('abort', onAbort, { once: true });
  const waitFor = (cond: () => boolean) => (cond() ? Promise.resolve() : new Promise<void>((r) => (wake = () => cond() && r())));
  try {
    const it = (Symbol.asyncIterator in tar ? tar : (async function* () { yield* tar as Iterable<unknown>; })()) as AsyncIterable<unknown>;
    for await (const c of it) {
      if (outcome) break;
      const b = Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array);
      const copy = new Uint8Array(b.length);
      copy.set(b);
      worker.postMessage(copy, [copy.buffer]);
      inflight++;
      await waitFor(() => inflight < WINDOW || outcome !== undefined);
    }
    if (!outcome) worker.postMessage(null);
    await waitFor(() => outcome !== undefined);
  } catch (e) {
    settle({ error: e instanceof KilnError ? e : new KilnError('IO', `cannot read the layer: ${(e as Error).message}`, { cause: e }) });
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await worker.terminate();
  }
  if (outcome && 'done' in outcome) return outcome.done;
  throw outcome!.error;
}

/** writeTree (or writeChanges, when `changes` is given) running in a worker thread. */
export function writeTreeInWorker(dir: string, opts: WriteOptions & { changes?: readonly Change[] } = {}): Readable {
  const { signal, changes, ...plain } = opts;
  const job: WorkerJob = { kind: 'pack', dir, opts: plain, window: WINDOW, ...(changes ? { changes: [...changes] } : {}) };
  const worker = new Worker(WORKER_URL, { workerData: job });
  let owed = 0; // acks held back while the consumer is slow
  let finished = false;
  const out = new Readable({
    highWaterMark: 4 << 20,
    read() {
      while (owed > 0) {
        owed--;
        worker.postMessage('ack');
      }
    },
    destroy(err, cb) {
      void worker.terminate();
      cb(err);
    },
  });
  worker.on('message', (m: Msg) => {
    if (m instanceof Uint8Array) {
      if (out.push(Buffer.from(m.buffer, m.byteOffset, m.byteLength))) worker.postMessage('ack');
      else owed++;
    } else if (typeof m === 'object' && 'done' in m) {
      finished = true;
      out.push(null);
      void worker.terminate();
    } else if (typeof m === 'object' && 'error' in m) {
      out.destroy(toError(m.error));
    }
  });
  worker.on('error', (e) => out.destroy(new KilnError('INTERNAL', `layer worker failed: ${e.message}`, { cause: e })));
  worker.on('exit', () => {
    if (!finished && !out.destroyed) out.destroy(new KilnError('INTERNAL', 'layer worker exited early'));
  });
  signal?.addEventListener('abort', () => out.destroy(new KilnError('ABORTED', 'operation aborted')), { once: true });
  return out;
}
