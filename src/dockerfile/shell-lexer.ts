// The engine of ShellLex (shell.ts): one expansion run over one word, following BuildKit's
// shellWord (frontend/dockerfile/shell/lex.go) step by step, quirks included.
import {
  PatternError,
  replaceAll,
  replaceFirst,
  trimPrefixPattern,
  trimSuffixPattern,
} from './shell-pattern.js';
import { Words } from './shell-words.js';

/** The lexer settings a run needs (ShellLex implements it). */
export interface LexSettings {
  readonly escapeToken: '\\' | '`';
  readonly rawQuotes: boolean;
  readonly rawEscapes: boolean;
  readonly skipProcessQuotes: boolean;
  readonly skipUnsetEnv: boolean;
}

/** Variables for expansion: a map, or a lookup returning undefined for an unset variable. */
export type ShellEnv = ReadonlyMap<string, string> | ((name: string) => string | undefined);

export const EOF = -1;
const cp = (c: string): number => c.codePointAt(0)!;
const DOLLAR = cp('$');
const LT = cp('<');
const SQUOTE = cp("'");
const DQUOTE = cp('"');
const LBRACE = cp('{');
const RBRACE = cp('}');
const COLON = cp(':');
const SLASH = cp('/');
const BACKSLASH = cp('\\');
const UNDERSCORE = cp('_');
const IS_LETTER = /\p{L}/u;
const IS_DIGIT = /\p{Nd}/u;

/** A syntax or ${V?msg} failure inside the lexer; ShellLex turns it into a KilnError. */
export class LexError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

const MISSING_BRACE = (): LexError => new LexError("syntax error: missing '}'", "close the ${...} with '}'");
const unsupported = (chs: string): LexError =>
  new LexError(
    `unsupported modifier (${chs}) in substitution`,
    'supported forms: ${V}, ${V:-x} ${V-x} ${V:+x} ${V+x} ${V:?msg} ${V?msg} ${V#p} ${V##p} ${V%p} ${V%%p} ${V/p/r} ${V//p/r}',
  );

function str(ch: number): string {
  return ch === EOF ? '\ufffd' : String.fromCodePoint(ch);
}

function isDigit(ch: number): boolean {
  return ch !== EOF && IS_DIGIT.test(String.fromCodePoint(ch));
}

function isLetter(ch: number): boolean {
  return ch !== EOF && IS_LETTER.test(String.fromCodePoint(ch));
}

/** POSIX special parameters ($@ $* $# $? $- $$ $! $0): names of one character. */
function isSpecialParam(ch: number): boolean {
  return ch !== EOF && '@*#?-$!0'.includes(String.fromCodePoint(ch));
}

/** One expansion run over one input word. */
export class Run {
  /** The word; `pos` indexes its UTF-16 units (a code point at a time, as Go's runes). */
  private readonly src: string;
  private pos = 0;
  private rawEscapes: boolean;
  private readonly wordsBuffer = { s: '' };
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();

  constructor(
    word: string,
    private readonly lex: LexSettings,
    private readonly env: ShellEnv,
  ) {
    this.src = word;
    if (word.charCodeAt(0) === 0xfeff) this.pos = 1; // Go's text/scanner skips a leading BOM
    this.rawEscapes = lex.rawEscapes;
  }

  private peek(): number {
    return this.pos < this.src.length ? this.src.codePointAt(this.pos)! : EOF;
  }

  private next(): number {
    if (this.pos >= this.src.length) return EOF;
    const c = this.src.codePointAt(this.pos)!;
    this.pos += c > 0xffff ? 2 : 1;
    return c;
  }

  /**
   * Processes up to `stopChar` (consumed) or the end of input. Like BuildKit, every call
   * starts by clearing the one shared word buffer, so in word-splitting mode a ${V:-x}-style
   * expansion drops the part of the current word before it (`a${X:-b}c` → `bc`).
   */
  processStopOn(stopChar: number, rawEscapes: boolean): { result: string; words: string[] } {
    let result = '';
    this.wordsBuffer.s = '';
    const words = new Words(this.wordsBuffer);
    const esc = cp(this.lex.escapeToken);
    const quotes = !this.lex.skipProcessQuotes;
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      while (this.peek() !== EOF) {
        let ch = this.peek();
        if (stopChar !== EOF && ch === stopChar) {
          this.next();
          return { result, words: words.getWords() };
        }
        if (ch === DOLLAR) {
          const tmp = this.processDollar();
          result += tmp;
          words.addString(tmp);
        } else if (ch === LT || (quotes && (ch === SQUOTE || ch === DQUOTE))) {
          const tmp = ch === LT ? this.processPossibleHeredoc() : ch === SQUOTE ? this.processSingleQuote() : this.processDoubleQuote();
          result += tmp;
          words.addRawString(tmp);
        } else if (ch !== esc) {
          // a run of plain characters at once: a big heredoc is megabytes of them
          const plain = this.plainRun(stopChar, esc, quotes);
          result += plain;
          words.addString(plain);
        } else {
          this.next();
          if (this.rawEscapes) {
            words.addRawChar(esc);
            result += str(esc);
          }
          // The escape token escapes the next character; at the end of input it is dropped.
          ch = this.next();
          if (ch === EOF) break;
          words.addRawChar(ch);
          result += str(ch);
        }
      }
      if (stopChar !== EOF) {
        throw new LexError(`unexpected end of statement while looking for matching ${str(stopChar)}`);
      }
      return { result, words: words.getWords() };
    } finally {
      this.rawEscapes = saved;
    }
  }

  /** The characters from here up to (not including) the next one processStopOn treats specially. */
  private plainRun(stopChar: number, esc: number, quotes: boolean): string {
    // the special characters are all ASCII: no surrogate pair is split by stopping at one
    const from = this.pos;
    let to = from;
    for (; to < this.src.length; to++) {
      const c = this.src.charCodeAt(to);
      if (c === stopChar || c === DOLLAR || c === LT || c === esc || (quotes && (c === SQUOTE || c === DQUOTE))) break;
    }
    this.pos = to;
    return this.src.slice(from, to);
  }

  private processSingleQuote(): string {
    // Everything up to the next ' is literal; a ' cannot be escaped inside.
    let result = '';
    const open = this.next();
    if (this.lex.rawQuotes) result += str(open);
    for (;;) {
      const ch = this.next();
      if (ch === EOF) throw new LexError('unexpected end of statement while looking for matching single-quote', "close the quote with '");
      if (ch === SQUOTE) {
        if (this.lex.rawQuotes) result += str(ch);
        return result;
      }
      result += str(ch);
    }
  }

  private processDoubleQuote(): string {
    // Literal except $ expansions; the escape token escapes only " $ and itself.
    let result = '';
    const esc = cp(this.lex.escapeToken);
    const open = this.next();
    if (this.lex.rawQuotes) result += str(open);
    for (;;) {
      const p = this.peek();
      if (p === EOF) throw new LexError('unexpected end of statement while looking for matching double-quote', 'close the quote with "');
      if (p === DQUOTE) {
        this.next();
        if (this.lex.rawQuotes) result += '"';
        return result;
      }
      if (p === DOLLAR) {
        result += this.processDollar();
        continue;
      }
      let ch = this.next();
      if (ch === esc) {
        if (this.rawEscapes) result += str(ch);
        const after = this.peek();
        if (after === EOF) continue; // the unterminated quote is reported next
        if (after === DQUOTE || after === DOLLAR || after === esc) ch = this.next();
      }
      result += str(ch);
    }
  }

  private processDollar(): string {
    this.next(); // '$'
    const lex = this.lex;
    if (this.peek() !== LBRACE) {
      const name = this.processName();
      if (name === '') return '$';
      const value = this.getEnv(name);
      if (value === undefined) return lex.skipUnsetEnv ? '$' + name : '';
      return value;
    }
    this.next(); // '{'
    const first = this.peek();
    if (first === EOF) throw MISSING_BRACE();
    if (first === LBRACE || first === RBRACE || first === COLON) {
      throw new LexError('syntax error: bad substitution', 'a ${...} must start with a variable name, as in ${NAME} or ${NAME:-default}');
    }
    const name = this.processName();
    let ch = this.next();
    let chs = str(ch);

    if (ch === RBRACE) {
      const value = this.getEnv(name);
      if (value === undefined) return lex.skipUnsetEnv ? `\${${name}}` : '';
      return value;
    }
    if (ch === SLASH) return this.processReplace(name);
    let nullIsUnset = false;
    if (ch === COLON) {
      nullIsUnset = true;
      ch = this.next();
      chs += str(ch);
    } else if (ch === EOF) {
      throw MISSING_BRACE();
    } else if (!'+-?#%'.includes(chs)) {
      throw unsupported(chs);
    }
    const op = str(ch);
    const rawEscapes = op === '#' || op === '%';
    if (nullIsUnset && rawEscapes) throw unsupported(chs);
    let word: string;
    try {
      word = this.processStopOn(RBRACE, rawEscapes).result;
    } catch (e) {
      if (this.peek() === EOF) throw MISSING_BRACE();
      throw e;
    }
    const value = this.getEnv(name);
    if (lex.skipUnsetEnv && value === undefined) return `\${${name}${chs}${word}}`;
    const unsetOrNull = value === undefined || (nullIsUnset && value === '');
    switch (op) {
      case '-':
        return unsetOrNull ? word : value!;
      case '+':
        return unsetOrNull ? '' : word;
      case '?':
        if (value === undefined) throw new LexError(`${name}: ${word !== '' ? word : 'is not allowed to be unset'}`);
        if (nullIsUnset && value === '') throw new LexError(`${name}: ${word !== '' ? word : 'is not allowed to be empty'}`);
        return value;
      case '#':
      case '%': {
        // '#'/'%' remove the shortest match, '##'/'%%' the longest.
        let pattern = word;
        const greedy = pattern.startsWith(op);
        if (greedy) pattern = pattern.slice(1);
        try {
          return op === '%'
            ? trimSuffixPattern(pattern, value ?? '', greedy)
            : trimPrefixPattern(pattern, value ?? '', greedy);
        } catch (e) {
          throw patternError(pattern, e);
        }
      }
      default:
        throw unsupported(chs);
    }
  }

  /** ${name/pattern/replacement} and ${name//pattern/replacement}; the first '/' is consumed. */
  private processReplace(name: string): string {
    const all = this.peek() === SLASH;
    if (all) this.next();
    let pattern: string;
    try {
      pattern = this.processStopOn(SLASH, true).result;
    } catch (e) {
      if (this.peek() === EOF) throw new LexError("syntax error: missing '/' in ${}", 'write ${NAME/pattern/replacement}');
      throw e;
    }
    let replacement: string;
    try {
      replacement = this.processStopOn(RBRACE, true).result;
    } catch (e) {
      if (this.peek() === EOF) throw MISSING_BRACE();
      throw e;
    }
    const value = this.getEnv(name);
    if (this.lex.skipUnsetEnv && value === undefined) return `\${${name}/${pattern}/${replacement}}`;
    try {
      return all ? replaceAll(pattern, value ?? '', replacement) : replaceFirst(pattern, value ?? '', replacement);
    } catch (e) {
      throw patternError(pattern, e);
    }
  }

  /** A variable name: letters, digits and '_'; or a run of digits; or one special parameter. */
  private processName(): string {
    let name = '';
    while (this.peek() !== EOF) {
      const ch = this.peek();
      if (name === '' && isDigit(ch)) {
        while (isDigit(this.peek())) name += str(this.next());
        return name;
      }
      if (name === '' && isSpecialParam(ch)) return str(this.next());
      if (!isLetter(ch) && !isDigit(ch) && ch !== UNDERSCORE) break;
      name += str(this.next());
    }
    return name;
  }

  /** `<<` and the blanks after it are kept together so a heredoc marker stays one word. */
  private processPossibleHeredoc(): string {
    this.next();
    if (this.peek() !== LT) return '<';
    this.next();
    let space = '';
    for (let ch = this.peek(); ch === 0x20 || ch === 0x09 || ch === 0x0d; ch = this.peek()) {
      space += str(ch);
      this.next();
    }
    return '<<' + space;
  }

  private getEnv(name: string): string | undefined {
    const env = this.env;
    const v = typeof env === 'function' ? env(name) : env.get(name);
    (v === undefined ? this.unmatched : this.matched).add(name);
    return v;
  }
}

function patternError(pattern: string, e: unknown): LexError {
  if (e instanceof PatternError) {
    return new LexError(
      `invalid pattern (${pattern}) in substitution: ${e.message}`,
      "in a pattern, '\\' may only escape '*', '?', '\\', '}' and '/'",
    );
  }
  throw e;
}

