// Long synchronous work must still let the event loop run: SIGINT/SIGTERM handlers, progress
// timers and the build's other steps only get to run between turns. A context walk matches
// every path against every .dockerignore pattern; with thousands of patterns that is seconds
// or minutes of work, and Ctrl-C waited for all of it. A Turns gives the loop a turn every
// `sliceMs` of work and then stops the work if the build was aborted meanwhile.
import { setImmediate as nextTurn } from 'node:timers/promises';

export class Turns {
  #since = performance.now();

  constructor(
    private readonly signal?: AbortSignal,
    private readonly sliceMs = 20,
  ) {}

  /** True when the work has run a whole slice since the loop last had a turn: then `await give()`. */
  due(): boolean {
    return performance.now() - this.#since >= this.sliceMs;
  }

  /** Gives the event loop a turn; throws the abort reason if the signal fired before or during it. */
  async give(): Promise<void> {
    this.signal?.throwIfAborted();
    await nextTurn();
    this.#since = performance.now();
    this.signal?.throwIfAborted();
  }
}
