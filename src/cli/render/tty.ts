// `--progress tty` (and `auto` on a terminal): a BuildKit-like live view on stderr.
//   [+] Building 5.3s (7/9)
//    => CACHED [builder 2/6] COPY package.json .                 0.0s
//    => [builder 3/6] RUN npm ci                                 4.2s
//    => => # added 80 packages in 3s          (last lines of output, dimmed)
//    => [stage-2 2/3] RUN make                                   1.1s
// Running steps keep a ticking timer and their last output lines; a finished step collapses to
// one line (a failed one keeps its last output lines). The frame is redrawn in place (cursor up, clear each line: no full-screen clear, so
// no flicker) at most every `frameMs`, and cut to the terminal's width and height. close() draws
// the final frame (every step, one line each) with `FINISHED` (or `FAILED`) in the header.
import type { ProgressEvent } from '../../progress/index.js';
import { cleanLine, formatBytes, LineSplitter, stepTitle } from './format.js';
import type { RenderOptions, Renderer, RenderTarget } from './types.js';
import { cutToWidth, spread } from './width.js';

const ESC = '\x1b[';
const DIM = `${ESC}2m`;
const RED = `${ESC}31m`;
const BLUE = `${ESC}34m`;
const RESET = `${ESC}0m`;
/** Synchronized output (DEC 2026): terminals that know it show a frame at once; others ignore it. */
const SYNC_ON = `${ESC}?2026h`;
const SYNC_OFF = `${ESC}?2026l`;
const MAX_BLOBS = 6;

interface Blob {
  done: number;
  total?: number;
}

interface TtyStep {
  readonly id: number;
  readonly title: string;
  readonly start: number;
  /** Duration once finished (done: as reported; cached: 0; error/canceled: until then). */
  ms?: number;
  cached: boolean;
  error: boolean;
  canceled: boolean;
  readonly tail: string[];
  readonly blobs: Map<string, Blob>;
}

/** One block of the frame: a step's row and, while it runs, its blobs and output tail. */
interface Block {
  readonly running: boolean;
  readonly row: string;
  readonly extra: string[];
}

export function ttyRenderer(stream: RenderTarget, opts: RenderOptions = {}): Renderer {
  const now = opts.now ?? Date.now;
  const frameMs = opts.frameMs ?? 100;
  const tailMax = opts.tailLines ?? 6;
  const began = now();
  const steps = new Map<number, TtyStep>();
  const order: TtyStep[] = [];
  const lines = new LineSplitter<number>();
  const warnings: string[] = [];
  let drawn = 0;
  let lastDraw = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const width = (): number => Math.max(20, stream.columns ?? 80);
  const height = (): number => Math.max(4, stream.rows ?? 24);
  const running = (s: TtyStep): boolean => s.ms === undefined;

  const row = (s: TtyStep, w: number): string => {
    const status = s.error ? 'ERROR ' : s.canceled ? 'CANCELED ' : s.cached ? 'CACHED ' : '';
    const ms = s.ms ?? now() - s.start;
    const line = spread(` => ${status}${s.title}`, ` ${(Math.max(0, ms) / 1000).toFixed(1)}s`, w);
    if (s.error) return `${RED}${line}${RESET}`;
    return s.cached || !running(s) ? line : `${BLUE}${line}${RESET}`;
  };

  const extra = (s: TtyStep, w: number): string[] => {
    const out: string[] = [];
    const blobs = [...s.blobs].sort(([, a], [, b]) => Number(a.total !== undefined && a.done >= a.total) - Number(b.total !== undefined && b.done >= b.total));
    for (const [digest, b] of blobs.slice(0, MAX_BLOBS)) {
      const short = digest.replace(/^(sha256:[0-9a-f]{12})[0-9a-f]+$/, '$1');
      const complete = b.total !== undefined && b.done >= b.total;
      const size = b.total !== undefined ? `${formatBytes(b.done)} / ${formatBytes(b.total)}` : formatBytes(b.done);
      const pct = complete ? 'done' : b.total ? `${Math.floor((b.done / b.total) * 100)}%` : '';
      out.push(cutToWidth(` => => ${short} ${size} ${pct}`.trimEnd(), w));
    }
    out.push(...tailLinesOf(s, w));
    return out;
  };

  function tailLinesOf(s: TtyStep, w: number): string[] {
    const partial = lines.peek(s.id);
    const tail = partial !== undefined && cleanLine(partial) !== '' ? [...s.tail, cleanLine(partial)] : s.tail;
    return tail.slice(-tailMax).map((l) => `${DIM}${cutToWidth(` => => # ${l}`, w)}${RESET}`);
  }

  const header = (w: number, final: boolean): string => {
    const done = order.filter((s) => !running(s)).length;
    const failed = order.some((s) => s.error);
    const state = final ? (failed ? ' FAILED' : ' FINISHED') : '';
    return cutToWidth(`[+] Building ${((now() - began) / 1000).toFixed(1)}s (${done}/${order.length})${state}`, w);
  };

  const frame = (final: boolean): string[] => {
    const w = width();
    const out = [header(w, final)];
    // Running steps show their blobs and output; a failed step keeps its last output lines (the
    // error printed after the view may not include them).
    const blocks: Block[] = order.map((s) => ({ running: running(s), row: row(s, w), extra: s.error ? tailLinesOf(s, w) : final || !running(s) ? [] : extra(s, w) }));
    const warningLines = warnings.map((m) => cutToWidth(`WARNING: ${m}`, w));
    if (!final) {
      // Fit the screen (a frame taller than it can't be redrawn in place): drop finished rows
      // from the top first, then output tails; running steps stay visible as long as possible.
      const limit = height() - 1;
      const size = (): number => 1 + warningLines.length + blocks.reduce((a, b) => a + 1 + b.extra.length, 0);
      while (size() > limit) {
        const i = blocks.findIndex((b) => !b.running);
        if (i < 0) break;
        blocks.splice(i, 1);
      }
      if (size() > limit) for (const b of blocks) b.extra.length = 0;
      for (const b of blocks) out.push(b.row, ...b.extra);
      out.push(...warningLines);
      return out.slice(0, limit);
    }
    for (const b of blocks) out.push(b.row, ...b.extra);
    out.push(...warningLines);
    return out;
  };

  const draw = (final: boolean): void => {
    lastDraw = performance.now();
    if (order.length === 0 && warnings.length === 0) return;
    const next = frame(final);
    let out = SYNC_ON;
    if (drawn > 0) out += `${ESC}${drawn}A`;
    for (const l of next) out += `\r${ESC}2K${l}\n`;
    const extraLines = drawn - next.length;
    if (extraLines > 0) out += `${ESC}2K\n`.repeat(extraLines) + `${ESC}${extraLines}A`;
    out += SYNC_OFF;
    drawn = next.length;
    try {
      stream.write(out);
    } catch {
      /* a closed terminal is not the build's problem */
    }
  };

  const tick = (): void => {
    timer = undefined;
    if (closed) return;
    draw(false);
    // Keep the running timers moving.
    if (order.some(running)) schedule();
  };

  function schedule(): void {
    if (closed || timer !== undefined) return;
    const wait = Math.max(0, lastDraw + frameMs - performance.now());
    timer = setTimeout(tick, wait);
    timer.unref();
  }

  const finish = (id: number, f: (s: TtyStep) => void): void => {
    const s = steps.get(id);
    if (!s || !running(s)) return;
    f(s);
    const rest = lines.flush(id);
    if (rest !== undefined) s.tail.push(cleanLine(rest));
  };

  const onEvent = (e: ProgressEvent): void => {
    if (closed) return;
    switch (e.type) {
      case 'step.start': {
        const s: TtyStep = { id: e.id, title: stepTitle(e.stage, e.name, e.pos), start: e.time, cached: false, error: false, canceled: false, tail: [], blobs: new Map() };
        steps.set(e.id, s);
        order.push(s);
        break;
      }
      case 'step.log': {
        const s = steps.get(e.id);
        if (!s || !running(s)) return;
        for (const l of lines.push(e.id, e.text)) s.tail.push(cleanLine(l));
        if (s.tail.length > tailMax) s.tail.splice(0, s.tail.length - tailMax);
        break;
      }
      case 'step.miss':
        return;
      case 'step.cached':
        finish(e.id, (s) => {
          s.cached = true;
          s.ms = 0;
        });
        break;
      case 'step.done':
        finish(e.id, (s) => {
          s.ms = e.ms;
        });
        break;
      case 'step.error':
        finish(e.id, (s) => {
          s.error = true;
          s.ms = e.time - s.start;
        });
        break;
      case 'blob.progress': {
        const s = steps.get(e.id);
        if (!s || !running(s)) return;
        s.blobs.set(e.digest, e.total === undefined ? { done: e.done } : { done: e.done, total: e.total });
        break;
      }
      case 'warning':
        warnings.push(e.message);
        break;
    }
    schedule();
  };

  return {
    onEvent,
    close(): void {
      if (closed) return;
      const t = now();
      for (const s of order) {
        if (running(s)) {
          s.canceled = true;
          s.ms = t - s.start;
        }
      }
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      draw(true);
      closed = true;
    },
  };
}
