// `--progress rawjson`: every ProgressEvent as one JSON object per line, with a format version
// `v` first. The format is documented in docs/progress.md (it is kiln's own, not BuildKit's
// SolveStatus stream: see there for the differences).
import type { ProgressEvent } from '../../progress/index.js';
import type { Renderer } from './types.js';

/** Bumped when a field changes meaning or disappears (new fields and event types don't bump it). */
export const RAWJSON_VERSION = 1;

export function rawJsonRenderer(write: (s: string) => void): Renderer {
  let closed = false;
  return {
    onEvent: (e: ProgressEvent) => {
      if (!closed) write(JSON.stringify({ v: RAWJSON_VERSION, ...e }) + '\n');
    },
    close: () => {
      closed = true;
    },
  };
}
