// Small text helpers shared by the renderers.

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
  const chars = [...s];
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

/** Splits streamed text into complete lines, keeping the unfinished rest per key. */
export class LineSplitter<K> {
  private readonly partial = new Map<K, string>();
  push(key: K, text: string): string[] {
    const lines = ((this.partial.get(key) ?? '') + text).split('\n');
    const rest = lines.pop() ?? '';
    if (rest === '') this.partial.delete(key);
    else this.partial.set(key, rest);
    return lines;
  }
  /** The unfinished line of `key` (then forgotten), if any. */
  flush(key: K): string | undefined {
    const rest = this.partial.get(key);
    this.partial.delete(key);
    return rest === undefined || rest === '' ? undefined : rest;
  }
  peek(key: K): string | undefined {
    return this.partial.get(key);
  }
}
