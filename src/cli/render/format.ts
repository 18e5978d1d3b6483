// Small text helpers shared by the renderers.
import { cutPoint } from '../../errors.js';

/** Bytes the way BuildKit's progress shows them: `85B`, `1.05MB` (decimal units). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n}B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(2)}${units[i]}`;
}

/** `[builder 3/6] RUN npm ci`, `[2/3] COPY . .` (no stage name), or the bare name (no position). */
export function stepTitle(stage: string, name: string, pos: string | undefined): string {
  if (pos === undefined) return name;
  return stage === '' ? `[${pos}] ${name}` : `[${stage} ${pos}] ${name}`;
}

/** BuildKit's limitString: at most `n` characters, `...` marking a cut. */
export function limitString(s: string, n: number): string {
  // only the first n + 1 characters are looked at: a step name can be a megabytes-long RUN line
  const chars: string[] = [];
  for (const c of s) {
    if (chars.length > n) break;
    chars.push(c);
  }
  if (chars.length <= n) return s;
  return n <= 3 ? chars.slice(0, n).join('') : chars.slice(0, n - 3).join('') + '...';
}

/**
 * One line of process output made safe to print inside our own layout: escape sequences and
 * control characters dropped, tabs expanded, and only what follows the last `\r` kept (progress bars).
 */
export function cleanLine(s: string): string {
  const cr = s.lastIndexOf('\r');
  const tail = cr >= 0 ? s.slice(cr + 1) : s;
  return tail
    // eslint-disable-next-line no-control-regex
    .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]/g, '')
    .replace(/\t/g, '    ')
    // eslint-disable-next-line no-control-regex
    .replace(/[\x00-\x1f\x7f]/g, '');
}

/**
 * A line longer than this is cut into pieces of this size: a step printing megabytes without a
 * newline must not be held (or re-scanned) whole by the display.
 */
export const MAX_LINE = 64 * 1024;

/** The unfinished line of one key: pieces joined only when needed (no quadratic concatenation). */
interface PartialLine {
  parts: string[];
  length: number;
}

/**
 * Splits streamed text into complete lines, keeping the unfinished rest per key. Each push costs
 * time in proportion to its own text; an unfinished line longer than `maxLine` characters is handed
 * out in `maxLine` pieces, each a line of its own.
 */
export class LineSplitter<K> {
  private readonly partial = new Map<K, PartialLine>();
  constructor(readonly maxLine = MAX_LINE) {}

  push(key: K, text: string): string[] {
    const out: string[] = [];
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      this.append(key, text.slice(start, nl), out);
      out.push(this.take(key) ?? '');
      start = nl + 1;
    }
    this.append(key, text.slice(start), out);
    return out;
  }
  /** The unfinished line of `key` (then forgotten), if any. */
  flush(key: K): string | undefined {
    const rest = this.take(key);
    return rest === '' ? undefined : rest;
  }
  /** The unfinished line of `key` (kept), if any. */
  peek(key: K): string | undefined {
    const p = this.partial.get(key);
    if (!p) return undefined;
    if (p.parts.length > 1) p.parts = [p.parts.join('')];
    return p.parts[0];
  }

  private take(key: K): string | undefined {
    const p = this.partial.get(key);
    this.partial.delete(key);
    return p?.parts.join('');
  }
  /** Adds to the unfinished line; while it is longer than `maxLine`, pieces of it go to `out`. */
  private append(key: K, text: string, out: string[]): void {
    if (text === '') return;
    let p = this.partial.get(key);
    if (!p) {
      p = { parts: [], length: 0 };
      this.partial.set(key, p);
    }
    p.parts.push(text);
    p.length += text.length;
    if (p.length <= this.maxLine) return;
    let line = p.parts.join('');
    while (line.length > this.maxLine) {
      const cut = cutPoint(line, this.maxLine);
      out.push(line.slice(0, cut));
      line = line.slice(cut);
    }
    p.parts = [line];
    p.length = line.length;
  }
}
