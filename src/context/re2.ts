// Translates the Go (RE2) regular expressions that moby/patternmatcher builds from
// .dockerignore lines into equivalent JavaScript regular expressions (flag `u`). The input is
// what patternmatcher generates: `^`, `$`, `.*`, `[^/]`, `(.*/)?` plus whatever the user wrote
// inside `[...]` or after a `\`, which Go's regexp then interprets: character classes with
// ranges, `[^...]` negation, POSIX `[:alpha:]`, Perl `\d \s \w`, Unicode `\pL`, escapes
// (`\.`, `\x41`, `\101`, `\n`...), `\Q...\E`, and the assertions `\A \z \b \B`.
// Anything Go would reject throws Re2Error.
//
// The parser emits tokens rather than a string: their JS source, joined, is the RegExp (used
// to validate and by tests), and re2-nfa.ts compiles the same tokens into a linear-time
// matcher, because a backtracking RegExp takes exponential time on `**/**/**/.../a`.

export class Re2Error extends Error {}

/**
 * One piece of the translated regexp, with its JavaScript source. A 'char' matches one code
 * point: the literal `cp` when given, otherwise the class in `src`.
 */
export type Re2Token =
  | { readonly kind: 'char'; readonly src: string; readonly cp?: number }
  | { readonly kind: 'assert'; readonly src: '^' | '$' | '\\b' | '\\B' }
  | { readonly kind: 'open' | 'close' | 'alt' | 'repeat'; readonly src: string };

type Range = [number, number];
const MAX = 0x10ffff;

const POSIX: Record<string, Range[]> = {
  alnum: [[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]],
  alpha: [[0x41, 0x5a], [0x61, 0x7a]],
  ascii: [[0x00, 0x7f]],
  blank: [[0x09, 0x09], [0x20, 0x20]],
  cntrl: [[0x00, 0x1f], [0x7f, 0x7f]],
  digit: [[0x30, 0x39]],
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [[0x21, 0x2f], [0x3a, 0x40], [0x5b, 0x60], [0x7b, 0x7e]],
  space: [[0x09, 0x0d], [0x20, 0x20]],
  upper: [[0x41, 0x5a]],
  word: [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]],
  xdigit: [[0x30, 0x39], [0x41, 0x46], [0x61, 0x66]],
};

const PERL: Record<string, Range[]> = {
  d: [[0x30, 0x39]],
  s: [[0x09, 0x0a], [0x0c, 0x0d], [0x20, 0x20]],
  w: [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]],
};

function complement(ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of sorted) {
    if (lo > next) out.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= MAX) out.push([next, MAX]);
  return out;
}

const hex = (c: number): string => `\\u{${c.toString(16)}}`;
const rangesToClassBody = (rs: readonly Range[]): string => rs.map(([lo, hi]) => (lo === hi ? hex(lo) : `${hex(lo)}-${hex(hi)}`)).join('');
const literal = (cp: number): Re2Token => ({ kind: 'char', src: hex(cp), cp });
const charClass = (src: string): Re2Token => ({ kind: 'char', src });

const isOctal = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '7';
const isHex = (c: string | undefined): boolean => c !== undefined && /^[0-9a-fA-F]$/.test(c);
const isAlnum = (c: string): boolean => /^[0-9A-Za-z]$/.test(c);

class Parser {
  private readonly s: string[];
  private i = 0;
  constructor(source: string) {
    this.s = Array.from(source);
  }

  private peek(k = 0): string | undefined {
    return this.s[this.i + k];
  }

  tokens(): Re2Token[] {
    const out: Re2Token[] = [];
    while (this.i < this.s.length) {
      const c = this.s[this.i]!;
      if (c === '\\') out.push(...this.topEscape());
      else if (c === '[') {
        this.i++;
        out.push(charClass(this.classBody()));
      } else if (c === '.') {
        this.i++;
        out.push(charClass('[^\\n]'));
      } else if (c === '(') {
        if (this.peek(1) === '?') throw new Re2Error('group flags are not supported');
        this.i++;
        out.push({ kind: 'open', src: '(?:' });
      } else if (c === '^' || c === '$') {
        this.i++;
        out.push({ kind: 'assert', src: c });
      } else if (c === ')') {
        this.i++;
        out.push({ kind: 'close', src: c });
      } else if (c === '|') {
        this.i++;
        out.push({ kind: 'alt', src: c });
      } else if ('*+?'.includes(c)) {
        this.i++;
        out.push({ kind: 'repeat', src: c });
      } else if (c === '{') {
        // Go takes a '{' that does not start a valid {n,m} repeat literally.
        this.i++;
        out.push({ kind: 'char', src: '\\{', cp: 0x7b });
      } else {
        this.i++;
        out.push(literal(c.codePointAt(0)!));
      }
    }
    return out;
  }

  /** `\` outside a class. */
  private topEscape(): Re2Token[] {
    const c = this.peek(1);
    if (c === undefined) throw new Re2Error('trailing backslash');
    switch (c) {
      case 'A':
        this.i += 2;
        return [{ kind: 'assert', src: '^' }];
      case 'z':
        this.i += 2;
        return [{ kind: 'assert', src: '$' }];
      case 'b':
      case 'B':
        this.i += 2;
        return [{ kind: 'assert', src: c === 'b' ? '\\b' : '\\B' }];
      case 'C':
        throw new Re2Error('invalid escape \\C');
      case 'Q': {
        this.i += 2;
        const lit: Re2Token[] = [];
        while (this.i < this.s.length && !(this.s[this.i] === '\\' && this.peek(1) === 'E')) {
          lit.push(literal(this.s[this.i]!.codePointAt(0)!));
          this.i++;
        }
        if (this.i < this.s.length) this.i += 2; // \E
        return lit.length === 0 ? [] : [{ kind: 'open', src: '(?:' }, ...lit, { kind: 'close', src: ')' }];
      }
    }
    const cls = this.classEscape();
    if (cls !== undefined) return [charClass(`[${cls}]`)];
    return [literal(this.charEscape())];
  }

  /** `\d \D \s \S \w \W \pX \p{Name} \PX`, as a class body; undefined if not one of those. */
  private classEscape(): string | undefined {
    const c = this.peek(1);
    if (c !== undefined && 'dDsSwW'.includes(c)) {
      this.i += 2;
      const base = PERL[c.toLowerCase()]!;
      return rangesToClassBody(c === c.toLowerCase() ? base : complement(base));
    }
    if (c === 'p' || c === 'P') {
      this.i += 2;
      let name: string;
      if (this.peek() === '{') {
        const end = this.s.indexOf('}', this.i);
        if (end < 0) throw new Re2Error('invalid character class range');
        name = this.s.slice(this.i + 1, end).join('');
        this.i = end + 1;
      } else {
        const n = this.peek();
        if (n === undefined) throw new Re2Error('invalid character class range');
        name = n;
        this.i++;
      }
      let negated = c === 'P';
      if (name.startsWith('^')) {
        negated = !negated;
        name = name.slice(1);
      }
      const prop = name === 'Any' || /^[A-Z][a-z&]?$/.test(name) ? name : `Script=${name}`;
      const token = `\\${negated ? 'P' : 'p'}{${prop}}`;
      try {
        new RegExp(token, 'u');
      } catch {
        throw new Re2Error(`invalid character class range: ${name}`);
      }
      return token;
    }
    return undefined;
  }

  /** A single-character escape (after `\`), returning its code point. */
  private charEscape(): number {
    this.i++; // '\'
    const c = this.s[this.i++];
    if (c === undefined) throw new Re2Error('trailing backslash');
    const cp = c.codePointAt(0)!;
    if (cp < 0x80 && !isAlnum(c)) return cp;
    if (c >= '1' && c <= '7' && !isOctal(this.peek())) throw new Re2Error(`invalid escape \\${c}`);
    if (c >= '0' && c <= '7') {
      let r = cp - 0x30;
      for (let k = 1; k < 3 && isOctal(this.peek()); k++) r = r * 8 + (this.s[this.i++]!.codePointAt(0)! - 0x30);
      return r;
    }
    if (c === 'x') {
      if (this.peek() === '{') {
        this.i++;
        let digits = '';
        while (isHex(this.peek())) digits += this.s[this.i++];
        if (digits === '' || this.peek() !== '}') throw new Re2Error('invalid escape \\x');
        this.i++;
        const v = parseInt(digits, 16);
        if (v > MAX) throw new Re2Error('invalid escape \\x');
        return v;
      }
      const a = this.s[this.i];
      const b = this.s[this.i + 1];
      if (!isHex(a) || !isHex(b)) throw new Re2Error('invalid escape \\x');
      this.i += 2;
      return parseInt(a! + b!, 16);
    }
    const simple: Record<string, number> = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11 };
    const v = simple[c];
    if (v === undefined) throw new Re2Error(`invalid escape \\${c}`);
    return v;
  }

  /** A character class after its `[`, up to and including the closing `]`. */
  private classBody(): string {
    let negated = false;
    if (this.peek() === '^') {
      negated = true;
      this.i++;
    }
    const ranges: Range[] = [];
    let tokens = '';
    let first = true;
    while (this.peek() !== ']' || first) {
      if (this.peek() === undefined) throw new Re2Error('missing closing ]');
      first = false;
      // POSIX class [:name:] or [:^name:]
      if (this.peek() === '[' && this.peek(1) === ':') {
        const rest = this.s.slice(this.i + 2).join('');
        const end = rest.indexOf(':]');
        if (end >= 0) {
          let name = rest.slice(0, end);
          const neg = name.startsWith('^');
          if (neg) name = name.slice(1);
          const base = POSIX[name];
          if (!base) throw new Re2Error(`invalid character class range: [:${name}:]`);
          ranges.push(...(neg ? complement(base) : base));
          this.i += 2 + Array.from(rest.slice(0, end)).length + 2;
          continue;
        }
      }
      if (this.peek() === '\\') {
        const cls = this.classEscape();
        if (cls !== undefined) {
          tokens += cls;
          continue;
        }
      }
      const lo = this.classChar();
      let hi = lo;
      if (this.peek() === '-' && this.peek(1) !== undefined && this.peek(1) !== ']') {
        this.i++;
        hi = this.classChar();
        if (hi < lo) throw new Re2Error('invalid character class range');
      }
      ranges.push([lo, hi]);
    }
    this.i++; // ']'
    return `[${negated ? '^' : ''}${rangesToClassBody(ranges)}${tokens}]`;
  }

  private classChar(): number {
    const c = this.peek();
    if (c === undefined) throw new Re2Error('missing closing ]');
    if (c === '\\') return this.charEscape();
    this.i++;
    return c.codePointAt(0)!;
  }
}

/** Parses a Go regexp (default flags) into tokens; throws Re2Error for what Go rejects. */
export function re2Tokens(source: string): Re2Token[] {
  const tokens = new Parser(source).tokens();
  try {
    new RegExp(tokensToSource(tokens), 'u'); // JS checks what is left: nesting, repeats
  } catch (e) {
    throw new Re2Error(`invalid regular expression: ${(e as Error).message}`);
  }
  return tokens;
}

const tokensToSource = (tokens: readonly Re2Token[]): string => tokens.map((t) => t.src).join('');

/**
 * Translates a Go regexp (default flags) to a JS RegExp with flag `u`; throws Re2Error.
 * Backtracking: only for tests and short subjects; .dockerignore uses re2-nfa.ts.
 */
export function re2ToRegExp(source: string): RegExp {
  return new RegExp(tokensToSource(re2Tokens(source)), 'u');
}
