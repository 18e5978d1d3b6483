// BuildKit's per-step log limit (util/progress/logs): once one output stream of a step has
// printed BUILDKIT_STEP_LOG_MAX_SIZE bytes (default 2 MiB, -1: no limit), the rest of that
// stream is not shown and `[output clipped, log limit 2MiB reached]` is printed once in its place.
// The process keeps running; only what the progress display gets is clipped (the tail kept for
// an error report sees everything). BUILDKIT_STEP_LOG_MAX_SPEED is not implemented.
import { StringDecoder } from 'node:string_decoder';
import { Writable } from 'node:stream';

/** BuildKit's default since v0.11 (it was 1 MiB before). */
export const DEFAULT_STEP_LOG_MAX_SIZE = 2 * 1024 * 1024;

/** The limit from the environment, parsed as BuildKit does (an int32, else the default); -1: none. */
export function stepLogMaxSize(env: NodeJS.ProcessEnv = process.env): number {
  const v = env['BUILDKIT_STEP_LOG_MAX_SIZE'];
  if (v === undefined || !/^[+-]?\d+$/.test(v)) return DEFAULT_STEP_LOG_MAX_SIZE;
  const n = Number(v);
  return n >= -(2 ** 31) && n < 2 ** 31 ? n : DEFAULT_STEP_LOG_MAX_SIZE;
}

/** A size as BuildKit's units.Bytes prints it with %#g: `2MiB`, `1.5KiB`, `1000B`. */
export function formatLogLimit(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v}${units[i]}`;
}

/** The line BuildKit prints where it stops showing a stream (it adds a newline on each side). */
export function clipNotice(limit: number): string {
  return `\n[output clipped, log limit ${formatLogLimit(limit)} reached]\n`;
}

/**
 * Counts the bytes of one stream and cuts them at `limit` (negative other than -1 shows nothing,
 * as in BuildKit). Returns what to show of each chunk, the clip notice included the first time.
 */
export class LogClipper {
  private size = 0;
  private clipped = false;

  constructor(readonly limit: number = DEFAULT_STEP_LOG_MAX_SIZE) {}

  /** The part of `chunk` to show (maybe empty), and whether the notice goes after it. */
  take(chunk: Buffer): { show: Buffer; notice: boolean } {
    if (this.limit === -1) return { show: chunk, notice: false };
    const room = Math.max(0, this.limit - this.size);
    this.size += chunk.length;
    if (chunk.length <= room) return { show: chunk, notice: false };
    const notice = !this.clipped;
    this.clipped = true;
    return { show: chunk.subarray(0, charStart(chunk, room)), notice };
  }
}

/** `at`, moved back to the first byte of the UTF-8 character it falls in (no half characters). */
function charStart(b: Buffer, at: number): number {
  let i = at;
  // at most 3 continuation bytes (10xxxxxx) precede the byte that starts a character
  while (i > 0 && at - i < 3 && i < b.length && (b[i]! & 0xc0) === 0x80) i--;
  return i;
}

/**
 * A stream for one output stream of a RUN step: decodes UTF-8 across chunk boundaries, applies
 * the log limit, and hands the text on (to ProgressEmitter.log).
 */
export function stepLogWriter(emit: (text: string) => void, limit: number = stepLogMaxSize()): Writable {
  const clipper = new LogClipper(limit);
  const decoder = new StringDecoder('utf8');
  let done = false;
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (!done && chunk.length > 0) {
        const { show, notice } = clipper.take(chunk);
        let text = decoder.write(show);
        if (notice) {
          text += decoder.end() + clipNotice(limit);
          done = true;
        }
        if (text !== '') emit(text);
      }
      cb();
    },
    final(cb) {
      if (!done) {
        const rest = decoder.end();
        if (rest !== '') emit(rest);
      }
      cb();
    },
  });
}
