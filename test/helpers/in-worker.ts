// Runs a synchronous computation in a worker thread. A test whose code might hang (a regexp
// backtracking for ever blocks its thread, so no timer fires) can then fail by its timeout
// instead of hanging the run: the test's signal terminates the worker.
import { Worker, type ResourceLimits } from 'node:worker_threads';

/**
 * Resolves to `fn(module, data)`, computed in a worker: `fn` is the source of a function (its
 * result may be a promise), `module` the ES module at `moduleUrl`, `data` and the result are
 * structured-cloned. `limits` caps the worker's heap (a test of memory use fails with
 * ERR_WORKER_OUT_OF_MEMORY past it).
 */
export async function callInWorker<T>(moduleUrl: URL, fn: string, data: unknown, signal: AbortSignal, limits?: ResourceLimits): Promise<T> {
  const code = `const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.url).then((m) => (${fn})(m, workerData.data)).then((r) => parentPort.postMessage(r));`;
  const worker = new Worker(code, { eval: true, workerData: { url: moduleUrl.href, data }, ...(limits ? { resourceLimits: limits } : {}) });
  const stop = (): void => void worker.terminate();
  signal.addEventListener('abort', stop);
  try {
    return await new Promise<T>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`worker exited (${code}) without an answer`)));
    });
  } finally {
    signal.removeEventListener('abort', stop);
    stop();
  }
}
