// Worker-thread entry for big layer jobs: the per-file sync fs work (tree walk + reads, or
// unpacking) runs here so the main thread's event loop stays free for compression, hashing,
// network and progress output. Started by worker-client.ts; speaks a tiny message protocol:
//   main → worker: Uint8Array chunk | null (end of input)  [apply]   ·  'ack' (one chunk consumed)  [pack]
//   worker → main: 'ack' [apply] · Uint8Array chunk [pack] · { done } · { error }
import { parentPort, workerData } from 'node:worker_threads';
import { isKilnError } from '../errors.js';
import { applyLayer, type ApplyOptions } from './apply.js';
import { writeChanges, writeTree, type WriteOptions } from './pack.js';
import type { WorkerError, WorkerJob } from './worker-client.js';

const port = parentPort!;
const job = workerData as WorkerJob;
const WINDOW = job.window;

function report(e: unknown): void {
  const err: WorkerError = isKilnError(e)
    ? { kiln: true, code: e.code, message: e.message, ...(e.details.hint ? { hint: e.details.hint } : {}) }
    : { message: e instanceof Error ? e.message : String(e), ...((e as NodeJS.ErrnoException)?.code ? { code: String((e as NodeJS.ErrnoException).code) } : {}) };
  port.postMessage({ error: err });
}

/** Resolves when the next message arrives (or immediately if one is queued). */
function inbox<T>(): { next: () => Promise<T>; queue: T[] } {
  const queue: T[] = [];
  let wake: (() => void) | undefined;
  port.on('message', (m: T) => {
    queue.push(m);
    wake?.();
    wake = undefined;
  });
  return {
    queue,
    next: async () => {
      while (queue.length === 0) await new Promise<void>((r) => (wake = r));
      return queue.shift()!;
    },
  };
}

if (job.kind === 'apply') {
  const box = inbox<Uint8Array | null>();
  const source = async function* (): AsyncGenerator<Buffer> {
    for (;;) {
      const m = await box.next();
      if (m === null) return;
      port.postMessage('ack');
      yield Buffer.from(m.buffer, m.byteOffset, m.byteLength);
    }
  };
  applyLayer(source(), job.root, job.opts).then((done) => port.postMessage({ done }), report);
} else {
  const box = inbox<'ack'>();
  (async () => {
    const stream = job.changes ? writeChanges(job.dir, job.changes, job.opts) : writeTree(job.dir, job.opts);
    let inflight = 0;
    for await (const c of stream) {
      const b = c as Buffer;
      const copy = new Uint8Array(b.length);
      copy.set(b);
      port.postMessage(copy, [copy.buffer]);
      inflight++;
      while (inflight >= WINDOW) {
        await box.next();
        inflight--;
      }
      inflight -= box.queue.splice(0).length;
    }
    port.postMessage({ done: true });
  })().catch(report);
}
