// "did you mean X?" suggestions: the closest option by Levenshtein distance, like BuildKit's
// util/suggest (a match must be closer than 3 edits, and an exact match suggests nothing).

/** Levenshtein edit distance between two strings (insert, delete, substitute each cost 1). */
export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  let prev = new Array<number>(b.length + 1);
  let cur = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= b.length; j++) {
      const cost = ca === b.charCodeAt(j - 1) ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

/**
 * The option closest to `value` (distance < 3), or undefined when none is close or `value`
 * already is an option. Case-insensitive matching returns the option in the case of `value`
 * (all-lower or all-upper), as BuildKit does.
 */
export function suggest(value: string, options: readonly string[], caseSensitive = true): string | undefined {
  const v = caseSensitive ? value : value.toLowerCase();
  let best: string | undefined;
  let min = 3;
  for (const o of options) {
    const opt = caseSensitive ? o : o.toLowerCase();
    if (opt === v) return undefined;
    const d = levenshtein(v, opt);
    if (d < min) {
      min = d;
      best = caseSensitive ? opt : matchCase(opt, value);
    }
  }
  return best;
}

function matchCase(opt: string, orig: string): string {
  if (orig === orig.toLowerCase()) return opt.toLowerCase();
  if (orig === orig.toUpperCase()) return opt.toUpperCase();
  return opt;
}

/** `did you mean X?` for a hint, or undefined. */
export function didYouMean(value: string, options: readonly string[], caseSensitive = true, prefix = ''): string | undefined {
  const s = suggest(value, options, caseSensitive);
  return s === undefined ? undefined : `did you mean ${prefix}${s}?`;
}
