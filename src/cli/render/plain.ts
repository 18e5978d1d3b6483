// `--progress plain`: stable, greppable lines in BuildKit's format (progressui textMux):
//   #5 [builder 3/6] RUN npm ci
//   #5 0.512 added 80 packages
//   #5 DONE 4.2s
//   (blank line)
//   #6 [builder 4/6] COPY . .
//   #6 CACHED
// Output of a step is prefixed with the seconds since that step started. When output switches
// from one running step to another, the first gets a `#N ...` marker and the second's header is
// repeated, so `grep '^#5 '` gives one step's whole story. Times come from the events, so the
// output for a given event sequence is always the same.
import type { ProgressEvent } from '../../progress/index.js';
import { formatBytes, limitString, LineSplitter, stepTitle } from './format.js';
import type { Renderer } from './types.js';

/** BuildKit prints at most 72 characters of a step's name. */
const TITLE_MAX = 72;
/** An unfinished blob transfer is reported again after this long (and ≥ 5% more bytes). */
const BLOB_REPORT_MS = 5000;

interface StepState {
  readonly title: string;
  readonly start: number;
  /** Time of the step's latest event (an unfinished line flushed at close is stamped with it). */
  last: number;
  ended: boolean;
}

interface BlobState {
  readonly first: number;
  last?: number;
  lastFraction: number;
  completed: boolean;
}

export function plainRenderer(write: (s: string) => void): Renderer {
  const steps = new Map<number, StepState>();
  const blobs = new Map<string, BlobState>();
  const lines = new LineSplitter<number>();
  const warnings: string[] = [];
  let current: number | undefined;
  let closed = false;

  const secs = (ms: number): string => (Math.max(0, ms) / 1000).toFixed(3);

  /** Makes `id` the step being printed: marks the interrupted one, repeats `id`'s header. */
  const focus = (id: number): StepState | undefined => {
    const s = steps.get(id);
    if (!s) return undefined;
    if (current === id) return s;
    if (current !== undefined) {
      const prev = steps.get(current);
      if (prev && !prev.ended) write(`#${current} ...\n\n`);
    }
    current = id;
    write(`#${id} ${s.title}\n`);
    return s;
  };
  const logLine = (id: number, s: StepState, time: number, text: string): void => {
    write(`#${id} ${secs(time - s.start)} ${text.replace(/\r/g, '')}\n`);
  };
  const flushPartial = (id: number, s: StepState, time: number): void => {
    const rest = lines.flush(id);
    if (rest !== undefined) logLine(id, s, time, rest);
  };
  const end = (id: number, line: string, time: number): void => {
    if (steps.get(id)?.ended !== false) return;
    const s = focus(id);
    if (!s) return;
    flushPartial(id, s, time);
    write(`#${id} ${line}\n\n`);
    s.ended = true;
    current = undefined;
  };

  const onEvent = (e: ProgressEvent): void => {
    if (closed) return;
    switch (e.type) {
      case 'step.start': {
        if (current !== undefined) {
          const prev = steps.get(current);
          if (prev && !prev.ended) write(`#${current} ...\n\n`);
        }
        const s: StepState = { title: limitString(stepTitle(e.stage, e.name, e.pos), TITLE_MAX), start: e.time, last: e.time, ended: false };
        steps.set(e.id, s);
        current = e.id;
        write(`#${e.id} ${s.title}\n`);
        break;
      }
      case 'step.log': {
        const s = steps.get(e.id);
        if (!s || s.ended) break;
        s.last = e.time;
        const done = lines.push(e.id, e.text);
        if (done.length === 0) break;
        focus(e.id);
        for (const l of done) logLine(e.id, s, e.time, l);
        break;
      }
      case 'step.miss': {
        // `#5 cache miss: package-lock.json changed` (BuildKit prints nothing; kiln says why a step runs)
        const s = steps.get(e.id);
        if (!s || s.ended) break;
        focus(e.id);
        write(`#${e.id} cache miss: ${e.reason}\n`);
        break;
      }
      case 'step.cached':
        end(e.id, 'CACHED', e.time);
        break;
      case 'step.done':
        end(e.id, `DONE ${(e.ms / 1000).toFixed(1)}s`, e.time);
        break;
      case 'step.error':
        end(e.id, `ERROR: ${e.message}`, e.time);
        break;
      case 'blob.progress': {
        const s = steps.get(e.id);
        if (!s || s.ended) break;
        const key = `${e.id} ${e.digest}`;
        let b = blobs.get(key);
        if (!b) {
          b = { first: e.time, lastFraction: 0, completed: false };
          blobs.set(key, b);
        }
        if (b.completed) break;
        const complete = e.total !== undefined && e.done >= e.total;
        const fraction = e.total ? e.done / e.total : 0;
        const due = b.last === undefined || (e.time - b.last >= BLOB_REPORT_MS && (e.total === undefined || fraction - b.lastFraction >= 0.05));
        if (!complete && !due) break;
        focus(e.id);
        const size = e.total !== undefined ? `${formatBytes(e.done)} / ${formatBytes(e.total)}` : formatBytes(e.done);
        write(`#${e.id} ${e.digest} ${size} ${((e.time - b.first) / 1000).toFixed(1)}s${complete ? ' done' : ''}\n`);
        b.last = e.time;
        b.lastFraction = fraction;
        b.completed = complete;
        break;
      }
      case 'warning':
        warnings.push(e.message);
        break;
    }
  };

  return {
    onEvent,
    close(): void {
      if (closed) return;
      for (const [id, s] of steps) if (!s.ended) end(id, 'CANCELED', s.last);
      if (warnings.length) {
        write(` ${warnings.length} warning${warnings.length === 1 ? '' : 's'} found:\n`);
        for (const w of warnings) write(` - ${w}\n`);
      }
      closed = true;
    },
  };
}
