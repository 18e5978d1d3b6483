// Heredocs (`<<EOF`, `<<-EOF`, `<<"EOF"`, `3<<EOF`) as BuildKit's parser finds them: the
// instruction line is split into shell words with an empty environment (quotes and escapes kept
// raw, unset variables left as written), and each word matching `^(\d*)<<(-?)\s*([^<]*)$` is a
// heredoc whose delimiter is that word unquoted. The word lexer here is the small subset of
// BuildKit's shell lexer this needs; full expansion lives in shell.ts.

import { KilnError, shortenText } from '../errors.js';
import type { Heredoc } from './ast.js';
import { goQuote } from './dump.js';
import { isGoSpace } from './lexer.js';

const EOF = undefined;

class LexError extends Error {}

/** BuildKit's shellWord with SkipUnsetEnv and an empty environment; escape token `\`. */
class WordLexer {
  private pos = 0;
  /** Shared across nested processStopOn calls, as in BuildKit (a nested call resets it). */
  private buf = '';
  private rawEscapes: boolean;

  constructor(
    private readonly src: string,
    private readonly rawQuotes: boolean,
    rawEscapes: boolean,
  ) {
    this.rawEscapes = rawEscapes;
  }

  private peek(): string | undefined {
    const c = this.src.codePointAt(this.pos);
    return c === undefined ? EOF : String.fromCodePoint(c);
  }

  private next(): string | undefined {
    const c = this.peek();
    if (c !== undefined) this.pos += c.length;
    return c;
  }

  words(): string[] {
    return this.stopOn(EOF, this.rawEscapes).words;
  }

  private stopOn(stop: string | undefined, rawEscapes: boolean): { result: string; words: string[] } {
    let result = '';
    this.buf = '';
    const words: string[] = [];
    let inWord = false;
    const addRawChar = (c: string): void => {
      this.buf += c;
      inWord = true;
    };
    const addChar = (c: string): void => {
      if (isGoSpace(c)) {
        if (inWord && this.buf.length > 0) {
          words.push(this.buf);
          this.buf = '';
          inWord = false;
        }
      } else addRawChar(c);
    };
    const getWords = (): string[] => {
      if (this.buf.length > 0) {
        words.push(this.buf);
        this.buf = '';
        inWord = false;
      }
      return words;
    };
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      for (let ch = this.peek(); ch !== EOF; ch = this.peek()) {
        if (stop !== EOF && ch === stop) {
          this.next();
          return { result, words: getWords() };
        }
        if (ch === '$' || ch === '<' || ch === "'" || ch === '"') {
          const tmp = ch === '$' ? this.dollar() : ch === '<' ? this.possibleHeredoc() : ch === "'" ? this.singleQuote() : this.doubleQuote();
          result += tmp;
          if (ch === '$') for (const c of tmp) addChar(c);
          else {
            this.buf += tmp;
            inWord = true;
          }
          continue;
        }
        let c = this.next()!;
        if (c === '\\') {
          if (this.rawEscapes) {
            addRawChar(c);
            result += c;
          }
          const n = this.next();
          if (n === EOF) break;
          c = n;
          addRawChar(c);
        } else addChar(c);
        result += c;
      }
      if (stop !== EOF) throw new LexError(`unexpected end of statement while looking for matching ${stop}`);
      return { result, words: getWords() };
    } finally {
      this.rawEscapes = saved;
    }
  }

  private singleQuote(): string {
    let out = '';
    const open = this.next()!;
    if (this.rawQuotes) out += open;
    for (;;) {
      const c = this.next();
      if (c === EOF) throw new LexError('unexpected end of statement while looking for matching single-quote');
      if (c === "'") return this.rawQuotes ? out + c : out;
      out += c;
    }
  }

  private doubleQuote(): string {
    let out = '';
    const open = this.next()!;
    if (this.rawQuotes) out += open;
    for (;;) {
      const p = this.peek();
      if (p === EOF) throw new LexError('unexpected end of statement while looking for matching double-quote');
      if (p === '"') {
        this.next();
        return this.rawQuotes ? out + p : out;
      }
      if (p === '$') {
        out += this.dollar();
        continue;
      }
      let c = this.next()!;
      if (c === '\\') {
        if (this.rawEscapes) out += c;
        const q = this.peek();
        if (q === EOF) continue;
        if (q === '"' || q === '$' || q === '\\') c = this.next()!;
      }
      out += c;
    }
  }

  private name(): string {
    let name = '';
    for (let c = this.peek(); c !== EOF; c = this.peek()) {
      if (name === '' && /^\p{Nd}$/u.test(c)) {
        while (this.peek() !== EOF && /^\p{Nd}$/u.test(this.peek()!)) name += this.next();
        return name;
      }
      if (name === '' && '@*#?-$!0'.includes(c)) return this.next()!;
      if (!/^[\p{L}\p{Nd}_]$/u.test(c)) break;
      name += this.next();
    }
    return name;
  }

  /** `$x` / `${x...}` with x unset: kept as written (after processing any nested word). */
  private dollar(): string {
    this.next();
    if (this.peek() !== '{') {
      const n = this.name();
      return n === '' ? '$' : `$${n}`;
    }
    this.next();
    const p = this.peek();
    if (p === EOF) throw new LexError("syntax error: missing '}'");
    if (p === '{' || p === '}' || p === ':') throw new LexError('syntax error: bad substitution');
    const name = this.name();
    let ch = this.next();
    let chs = ch ?? '\uFFFD';
    if (ch === '}') return `\${${name}}`;
    let nullIsUnset = false;
    if (ch === ':') {
      nullIsUnset = true;
      ch = this.next();
      chs += ch ?? '\uFFFD';
    }
    if (nullIsUnset || ch === '+' || ch === '-' || ch === '?' || ch === '#' || ch === '%') {
      const raw = ch === '#' || ch === '%';
      if (nullIsUnset && raw) throw new LexError(`unsupported modifier (${chs}) in substitution`);
      const word = this.nested('}', raw, "syntax error: missing '}'");
      return `\${${name}${chs}${word}}`;
    }
    if (ch === '/') {
      if (this.peek() === '/') this.next();
      const pattern = this.nested('/', true, "syntax error: missing '/' in ${}");
      const repl = this.nested('}', true, "syntax error: missing '}'");
      return `\${${name}/${pattern}/${repl}}`;
    }
    throw new LexError(`unsupported modifier (${chs}) in substitution`);
  }

  private nested(stop: string, raw: boolean, atEof: string): string {
    try {
      return this.stopOn(stop, raw).result;
    } catch (e) {
      if (e instanceof LexError && this.peek() === EOF) throw new LexError(atEof);
      throw e;
    }
  }

  private possibleHeredoc(): string {
    this.next();
    if (this.peek() !== '<') return '<';
    this.next();
    let space = '';
    for (let c = this.peek(); c === '\t' || c === '\r' || c === ' '; c = this.peek()) space += this.next();
    return `<<${space}`;
  }
}

/** Shell words of `src` (empty environment, unset variables kept); throws a LexError on bad syntax. */
function lexWords(src: string, rawQuotes: boolean, rawEscapes: boolean): string[] {
  try {
    return new WordLexer(src, rawQuotes, rawEscapes).words();
  } catch (e) {
    if (e instanceof LexError) throw new LexError(`failed to process ${shortenText(goQuote(src))}: ${e.message}`);
    // absurdly deep ${...${...}} nesting overflows our stack (Go's grows): treat it as unlexable
    if (e instanceof RangeError) throw new LexError(`failed to process ${shortenText(goQuote(src))}: substitutions nested too deeply`);
    throw e;
  }
}

function isReSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\f' || c === '\r';
}

/** The parts of a heredoc marker word: what the regex `^(\d*)<<(-?)\s*([^<]*)$` captures. */
function matchMarker(word: string): { fd: string; chomp: boolean; rest: string } | undefined {
  let i = 0;
  while (i < word.length && word[i]! >= '0' && word[i]! <= '9') i++;
  const fd = word.slice(0, i);
  if (!word.startsWith('<<', i)) return undefined;
  i += 2;
  const chomp = word[i] === '-';
  if (chomp) i++;
  while (isReSpace(word[i])) i++;
  const rest = word.slice(i);
  if (rest.includes('<')) return undefined;
  return { fd, chomp, rest };
}

export type HeredocMarker = Omit<Heredoc, 'content'>;

/**
 * If `word` is a heredoc marker (`<<EOF`, `<<-'EOF'`, `3<<EOF`), its parts; otherwise undefined.
 * `expand` is false when any part of the delimiter is quoted. Throws a location-less KilnError
 * when the delimiter cannot be lexed (e.g. `<<'EOF`), as BuildKit's ParseHeredoc does.
 */
export function parseHeredoc(word: string): HeredocMarker | undefined {
  const m = matchMarker(word);
  if (m === undefined || m.rest.length === 0) return undefined;
  let words: string[];
  let raw: string[];
  try {
    words = lexWords(m.rest, false, false);
    if (words.length !== 1) return undefined;
    raw = lexWords(m.rest, true, false);
  } catch (e) {
    if (e instanceof LexError) throw new KilnError('DOCKERFILE_SYNTAX', e.message);
    throw e;
  }
  if (raw.length !== words.length) {
    throw new KilnError('DOCKERFILE_SYNTAX', `internal lexing of heredoc produced inconsistent results: ${m.rest}`);
  }
  const quotes = (s: string): number => s.split(/['"]/).length - 1;
  const name = words[0]!;
  const fd = m.fd === '' ? undefined : Number(m.fd);
  return {
    name,
    expand: quotes(name) === quotes(raw[0]!),
    chomp: m.chomp,
    ...(fd === undefined || !Number.isSafeInteger(fd) ? {} : { fileDescriptor: fd }),
  };
}

/** Every heredoc marker on an instruction line, in order. A line that does not lex has none. */
export function heredocsFromLine(line: string): HeredocMarker[] {
  let words: string[];
  try {
    words = lexWords(line, true, true);
  } catch (e) {
    if (e instanceof LexError) return [];
    throw e;
  }
  const out: HeredocMarker[] = [];
  for (const w of words) {
    const h = parseHeredoc(w);
    if (h) out.push(h);
  }
  return out;
}

/** Removes leading tabs from every line (`<<-`). */
export function chompHeredocContent(src: string): string {
  return src
    .split('\n')
    .map((l) => l.replace(/^\t+/, ''))
    .join('\n');
}
