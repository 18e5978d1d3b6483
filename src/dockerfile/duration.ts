// Go's time.ParseDuration ("1h30m", "1.5s", "300ms", "-2us"), as Docker uses for HEALTHCHECK
// flags. Returns nanoseconds; throws a plain Error with Go's message on bad input (callers wrap it).

const UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3, // U+00B5 micro sign
  'μs': 1e3, // U+03BC Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

const MAX_NS = 9223372036854775807; // int64 max, as a float

export const NANOS = { millisecond: 1e6, second: 1e9 } as const;

export function parseGoDuration(input: string): number {
  const quoted = JSON.stringify(input);
  const invalid = (): never => {
    throw new Error(`time: invalid duration ${quoted}`);
  };
  let s = input;
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') invalid();
  let total = 0;
  while (s !== '') {
    if (!/^[0-9.]/.test(s)) invalid();
    const m = /^([0-9]*)(?:\.([0-9]*))?/.exec(s)!;
    const intPart = m[1] ?? '';
    const fracPart = m[2];
    const pre = intPart.length > 0;
    const post = fracPart !== undefined && fracPart.length > 0;
    if (!pre && !post) invalid();
    s = s.slice(m[0].length);
    let i = 0;
    while (i < s.length && s[i] !== '.' && !(s[i]! >= '0' && s[i]! <= '9')) i++;
    const unit = s.slice(0, i);
    s = s.slice(i);
    if (unit === '') throw new Error(`time: missing unit in duration ${quoted}`);
    const mult = UNITS[unit];
    if (mult === undefined) throw new Error(`time: unknown unit ${JSON.stringify(unit)} in duration ${quoted}`);
    const v = (pre ? Number(intPart) : 0) * mult + (post ? Number(`0.${fracPart}`) * mult : 0);
    total += v;
    if (total > MAX_NS) invalid();
  }
  return Math.round(neg ? -total : total);
}

/** Formats nanoseconds the way Go's Duration.String does for the common cases (e.g. "1m30s", "500ms"). */
export function formatGoDuration(ns: number): string {
  if (ns === 0) return '0s';
  const sign = ns < 0 ? '-' : '';
  let n = Math.abs(ns);
  if (n < 1e3) return `${sign}${n}ns`;
  if (n < 1e6) return `${sign}${trim(n / 1e3)}µs`;
  if (n < 1e9) return `${sign}${trim(n / 1e6)}ms`;
  let out = '';
  const h = Math.floor(n / 3600e9);
  n -= h * 3600e9;
  const m = Math.floor(n / 60e9);
  n -= m * 60e9;
  if (h > 0) out += `${h}h`;
  if (h > 0 || m > 0) out += `${m}m`;
  return `${sign}${out}${trim(n / 1e9)}s`;
}

function trim(x: number): string {
  return String(Number(x.toFixed(9)));
}
