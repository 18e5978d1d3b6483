// The shell patterns of ${V#p} ${V%p} ${V/p/r}, with BuildKit's semantics: '*' (shortest or
// longest run), '?' (one character), '\' escaping only '*', '?' and '\' (a '\' before '}' or
// '/' is dropped: it only kept the character from ending the ${...}). There are no bracket
// expressions: '[' is a literal, as in BuildKit. Matching uses Go's regexp semantics ('.' does
// not match a newline; leftmost-first; ReplaceAll skips an empty match right after a match).

/** Thrown for a malformed pattern; shell.ts turns it into BuildKit's message. */
export class PatternError extends Error {}

const REGEX_SPECIAL = new Set(['^', '$', '.', '+', '(', ')', '[', ']', '{', '}', '|', '/']);

function codePoints(s: string): string[] {
  const cps = Array.from(s);
  // Go's text/scanner skips a byte-order mark at the very start of its input.
  if (cps[0] === '\ufeff') cps.shift();
  return cps;
}

/** Converts a shell pattern to a JS regular expression (flag `u`). */
export function shellPatternToRegex(pattern: string, greedy: boolean, anchored: boolean, flags = 'u'): RegExp {
  const cps = codePoints(pattern);
  let out = anchored ? '^' : '';
  const star = greedy ? '[^\\n]*' : '[^\\n]*?';
  for (let i = 0; i < cps.length; i++) {
    const tok = cps[i]!;
    if (tok === '*') {
      out += star;
    } else if (tok === '?') {
      out += '[^\\n]';
    } else if (tok === '\\') {
      const peek = cps[i + 1];
      if (peek === '}' || peek === '/') continue; // the escape only protected ${...} syntax
      i++;
      if (peek !== '*' && peek !== '?' && peek !== '\\') throw new PatternError(`invalid escape '\\${peek ?? '\ufffd'}'`);
      out += '\\' + peek;
    } else if (REGEX_SPECIAL.has(tok)) {
      out += '\\' + tok;
    } else {
      out += tok;
    }
  }
  return new RegExp(out, flags);
}

/** Reverses a pattern but keeps each `\x` escape in front of its character (`a\*c` → `c\*a`). */
export function reversePattern(pattern: string): string {
  const p = Array.from(pattern);
  const out = new Array<string>(p.length);
  const last = p.length - 1;
  for (let i = 0; i <= last; ) {
    const tok = p[i]!;
    const o = last - i;
    if (tok === '\\' && i !== last) {
      out[o - 1] = tok;
      out[o] = p[i + 1]!;
      i += 2;
    } else {
      out[o] = tok;
      i++;
    }
  }
  return out.join('');
}

export function reverseString(s: string): string {
  return Array.from(s).reverse().join('');
}

/** ${V#p} / ${V##p}: removes the shortest (or longest) prefix matching the pattern. */
export function trimPrefixPattern(pattern: string, value: string, greedy: boolean): string {
  const m = shellPatternToRegex(pattern, greedy, true).exec(value);
  return m ? value.slice(m.index + m[0].length) : value;
}

/** ${V%p} / ${V%%p}: like trimPrefixPattern on the reversed value and pattern (as BuildKit does). */
export function trimSuffixPattern(pattern: string, value: string, greedy: boolean): string {
  return reverseString(trimPrefixPattern(reversePattern(pattern), reverseString(value), greedy));
}

/** ${V/p/r}: replaces the first (leftmost, longest) match; `r` is taken literally. */
export function replaceFirst(pattern: string, value: string, replacement: string): string {
  const m = shellPatternToRegex(pattern, true, false).exec(value);
  if (!m) return value;
  return value.slice(0, m.index) + replacement + value.slice(m.index + m[0].length);
}

/**
 * ${V//p/r}: Go's Regexp.ReplaceAllString, including its template expansion of the
 * replacement (`$0`/`${0}` is the match, `$$` a dollar, other `$name`s are empty).
 */
export function replaceAll(pattern: string, value: string, replacement: string): string {
  const re = shellPatternToRegex(pattern, true, false, 'gu');
  let out = '';
  let lastMatchEnd = 0;
  let searchPos = 0;
  while (searchPos <= value.length) {
    re.lastIndex = searchPos;
    const m = re.exec(value);
    if (!m) break;
    const a0 = m.index;
    const a1 = a0 + m[0].length;
    out += value.slice(lastMatchEnd, a0);
    // No replacement for an empty match right after the previous match.
    if (a1 > lastMatchEnd || a0 === 0) out += expandTemplate(replacement, m[0]);
    lastMatchEnd = a1;
    const width = searchPos < value.length ? (value.codePointAt(searchPos)! > 0xffff ? 2 : 1) : 0;
    if (searchPos + width > a1) searchPos += width;
    else if (searchPos + 1 > a1) searchPos++;
    else searchPos = a1;
  }
  return out + value.slice(lastMatchEnd);
}

const NAME_CHAR = /[\p{L}\p{Nd}_]/u;

/** Go's regexp template expansion for a regexp whose only group is the whole match. */
function expandTemplate(template: string, match: string): string {
  let out = '';
  let t = template;
  for (;;) {
    const i = t.indexOf('$');
    if (i < 0) break;
    out += t.slice(0, i);
    t = t.slice(i + 1);
    if (t.startsWith('$')) {
      out += '$';
      t = t.slice(1);
      continue;
    }
    const ref = extractRef(t);
    if (!ref) {
      out += '$'; // malformed: the '$' is kept as text
      continue;
    }
    t = ref.rest;
    if (ref.num === 0) out += match;
  }
  return out + t;
}

function extractRef(s: string): { num: number; rest: string } | undefined {
  let str = s;
  const brace = str.startsWith('{');
  if (brace) str = str.slice(1);
  const chars = Array.from(str);
  let n = 0;
  let len = 0;
  while (n < chars.length && NAME_CHAR.test(chars[n]!)) len += chars[n++]!.length;
  if (n === 0) return undefined;
  const name = str.slice(0, len);
  if (brace) {
    if (str[len] !== '}') return undefined;
    len++;
  }
  let num = /^[0-9]+$/.test(name) && name.length <= 9 ? Number(name) : -1;
  if (name.length > 1 && name.startsWith('0')) num = -1;
  return { num, rest: str.slice(len) };
}
