// The shape every progress renderer has.
import type { ProgressEvent } from '../../progress/index.js';

export interface Renderer {
  readonly onEvent: (e: ProgressEvent) => void;
  /** Ends the display: final frame / summary, running steps marked canceled. Idempotent. */
  close(): void;
}

/** Where a renderer writes: process.stderr, or anything with the same few members. */
export interface RenderTarget {
  write(s: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
  readonly rows?: number;
}

export interface RenderOptions {
  /** The clock for timers (ms since the epoch, like event times); default Date.now. */
  readonly now?: () => number;
  /** Environment for `auto` (TERM=dumb → plain); default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Milliseconds between redraws of the live view; default 100 (≤ 10 per second). */
  readonly frameMs?: number;
  /** Log lines shown under a running step; default 6. */
  readonly tailLines?: number;
}
