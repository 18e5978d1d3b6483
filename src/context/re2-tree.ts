// The tokens re2.ts emits, as a syntax tree for re2-nfa.ts: alternation, concatenation,
// repeats, one-code-point tests and zero-width assertions. The tokens were already accepted
// by `new RegExp(..., 'u')`, so this parser only has to follow JavaScript's grammar.
import type { Re2Token } from './re2.js';

/** Whether one code point matches. */
export type CharTest = (cp: number) => boolean;

/** What an assertion can look at: bits for the position between two code points. */
export const AT_START = 1;
export const AT_END = 2;
export const PREV_WORD = 4; // the code point before is an ASCII word character
export const NEXT_WORD = 8; // the code point after is one
export type AssertTest = (context: number) => boolean;

export type Node =
  | { readonly t: 'char'; readonly test: CharTest; /** Set for a literal: the one code point it matches. */ readonly cp?: number }
  | { readonly t: 'assert'; readonly test: AssertTest; readonly start: boolean }
  | { readonly t: 'cat' | 'alt'; readonly items: readonly Node[] }
  | { readonly t: 'repeat'; readonly op: '*' | '+' | '?'; readonly item: Node };

/** RegExp's `\w` without flag `i`: what `\b` looks at. */
export const isWordChar = (c: number): boolean =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || (c >= 0x61 && c <= 0x7a);

const atWordBoundary: AssertTest = (x) => ((x & PREV_WORD) === 0) !== ((x & NEXT_WORD) === 0);

// Without flag `m`, `^` and `$` are the ends of the subject.
const ASSERTS: Record<'^' | '$' | '\\b' | '\\B', AssertTest> = {
  '^': (x) => (x & AT_START) !== 0,
  $: (x) => (x & AT_END) !== 0,
  '\\b': atWordBoundary,
  '\\B': (x) => !atWordBoundary(x),
};

/** Parses the tokens of one regexp; throws (a bug) on what RegExp would have rejected. */
export function parseTokens(tokens: readonly Re2Token[]): Node {
  return new TreeParser(tokens).parse();
}

class TreeParser {
  private i = 0;
  constructor(private readonly tokens: readonly Re2Token[]) {}

  parse(): Node {
    const node = this.alternation();
    if (this.i !== this.tokens.length) throw new Error(`re2-tree: unexpected ${this.tokens[this.i]!.src}`);
    return node;
  }

  private alternation(): Node {
    const items = [this.concatenation()];
    while (this.tokens[this.i]?.kind === 'alt') {
      this.i++;
      items.push(this.concatenation());
    }
    return items.length === 1 ? items[0]! : { t: 'alt', items };
  }

  private concatenation(): Node {
    const items: Node[] = [];
    for (let tok = this.tokens[this.i]; tok && tok.kind !== 'alt' && tok.kind !== 'close'; tok = this.tokens[this.i]) {
      items.push(this.repeated(this.atom()));
    }
    return { t: 'cat', items };
  }

  private atom(): Node {
    const tok = this.tokens[this.i++]!;
    switch (tok.kind) {
      case 'char':
        return tok.cp === undefined ? { t: 'char', test: charTest(tok) } : { t: 'char', test: charTest(tok), cp: tok.cp };
      case 'assert':
        return { t: 'assert', test: ASSERTS[tok.src], start: tok.src === '^' };
      case 'open': {
        const inner = this.alternation();
        if (this.tokens[this.i++]?.kind !== 'close') throw new Error('re2-tree: missing )');
        return inner;
      }
      default:
        throw new Error(`re2-tree: unexpected ${tok.src}`);
    }
  }

  /** `x*`, `x+`, `x?`; a `?` right after one only makes it lazy, which no match answer shows. */
  private repeated(item: Node): Node {
    const tok = this.tokens[this.i];
    if (tok?.kind !== 'repeat') return item;
    this.i++;
    const lazy = this.tokens[this.i];
    if (lazy?.kind === 'repeat' && lazy.src === '?') this.i++;
    return { t: 'repeat', op: tok.src as '*' | '+' | '?', item };
  }
}

/** A literal compares code points; a class asks RegExp about the one code point (no backtracking). */
function charTest(tok: Extract<Re2Token, { kind: 'char' }>): CharTest {
  const lit = tok.cp;
  if (lit !== undefined) return (cp) => cp === lit;
  const re = new RegExp(`^${tok.src}$`, 'u');
  return (cp) => re.test(String.fromCodePoint(cp));
}
