// A linear-time matcher for the regexps re2.ts parses. JavaScript's backtracking RegExp takes
// exponential time on what patternmatcher builds from `**/**/**/.../a` (`^(.*/)?(.*/)?...a$`),
// and a running RegExp cannot be interrupted, not even by SIGINT. Here the regexp becomes a
// Thompson NFA that is run one code point at a time with the set of live states, as Go's
// regexp and RE2 do: O(subject length × pattern length) whatever the pattern. Each state set
// is cached as a DFA state with its transitions (built lazily, as RE2 does), so the common
// case costs one table lookup per character. The answers are those of RegExp.prototype.test
// on the translated regexp (flag `u`); tests check that the two agree. (One V8 quirk is not
// copied: an unanchored search also tries to start inside a surrogate pair, where /\B/u
// holds. patternmatcher's regexps all start with `^`, so it cannot arise for them.)
import type { Re2Token } from './re2.js';
import { AT_END, AT_START, NEXT_WORD, PREV_WORD, isWordChar, parseTokens, type AssertTest, type CharTest, type Node } from './re2-tree.js';

// NFA instructions, in parallel arrays indexed by state number.
const CHAR = 0; // consume one code point that passes charTests[st], go to next[st]
const ASSERT = 1; // go to next[st] if assertTests[st] holds here
const SPLIT = 2; // go to both next[st] and alt[st]
const MATCH = 3;

/** How many DFA states one regexp keeps; beyond that, new state sets are used uncached. */
const MAX_CACHED_STATES = 4096;

/** A set of NFA states (the CHAR ones, waiting for input) with its cached transitions. */
interface DfaState {
  readonly chars: readonly number[];
  /** The set reached MATCH: RegExp.test would answer true. */
  readonly matched: boolean;
  /** Transitions by transitionKey, for ASCII code points... */
  readonly ascii: (DfaState | undefined)[];
  /** ...and for the rest. */
  readonly other: Map<number, DfaState>;
}

/**
 * The assertion context after code point `cp` when `next` follows (NaN: end of subject), as
 * a key for the cache: 0, 1 or 2 plus three times the code point.
 */
const nextKind = (next: number): number => (Number.isNaN(next) ? 2 : isWordChar(next) ? 1 : 0);
const contextAfter = (cp: number, kind: number): number =>
  (isWordChar(cp) ? PREV_WORD : 0) | (kind === 2 ? AT_END : kind === 1 ? NEXT_WORD : 0);

/** A compiled regexp; `test` answers like RegExp.prototype.test, in linear time. */
export class Re2Nfa {
  private readonly op: number[] = [];
  private readonly next: number[] = [];
  private readonly alt: number[] = [];
  private readonly charTests: (CharTest | undefined)[] = [];
  private readonly assertTests: (AssertTest | undefined)[] = [];
  private readonly start: number;
  /** Every match must begin at index 0 (the regexp starts with `^`): no restarts further on. */
  private readonly anchored: boolean;
  /** DFA states by their sorted NFA state list, and the initial one per context. */
  private readonly interned = new Map<string, DfaState>();
  private readonly initial = new Map<number, DfaState>();
  /** Per NFA state, the closure that last added it (dedupes without clearing). */
  private readonly seen: Int32Array;
  private mark = 0;
  /**
   * Literal runs every match contains, longest first: a subject lacking one is answered without
   * running the automaton. (A .dockerignore of 4,000 `*.tmpN` lines ran 4,000 automata on every
   * context path; each now costs a substring search.)
   */
  private readonly required: readonly string[];

  constructor(tokens: readonly Re2Token[]) {
    const tree = parseTokens(tokens);
    this.required = requiredRuns(tree);
    this.start = this.compile(tree, this.state(MATCH));
    this.anchored = tree.t === 'cat' && tree.items[0]?.t === 'assert' && tree.items[0].start;
    this.seen = new Int32Array(this.op.length).fill(-1);
  }

  test(s: string): boolean {
    for (const r of this.required) if (!s.includes(r)) return false;
    const first = s.codePointAt(0);
    const context = AT_START | (first === undefined ? AT_END : isWordChar(first) ? NEXT_WORD : 0);
    let d = this.initial.get(context);
    if (d === undefined) {
      d = this.dfaState(this.closure([], context, true));
      this.initial.set(context, d);
    }
    for (let i = 0; i < s.length && !d.matched; ) {
      if (d.chars.length === 0 && this.anchored) return false;
      const cp = s.codePointAt(i)!;
      i += cp > 0xffff ? 2 : 1;
      d = this.transition(d, cp, nextKind(s.codePointAt(i) ?? NaN));
    }
    return d.matched;
  }

  /** The DFA state after `d` reads `cp`, with `kind` (see nextKind) describing what follows. */
  private transition(d: DfaState, cp: number, kind: number): DfaState {
    const key = cp * 3 + kind;
    const cached = cp < 128 ? d.ascii[key] : d.other.get(key);
    if (cached !== undefined) return cached;
    const targets: number[] = [];
    for (const st of d.chars) if (this.charTests[st]!(cp)) targets.push(this.next[st]!);
    const to = this.dfaState(this.closure(targets, contextAfter(cp, kind), !this.anchored));
    if (this.interned.size < MAX_CACHED_STATES) {
      if (cp < 128) d.ascii[key] = to;
      else d.other.set(key, to);
    }
    return to;
  }

  /**
   * The states reachable without input from `targets` (and from the start, where a match may
   * begin) under the assertion context; -1 in the result stands for MATCH. Iterative: repeats
   * can nest deeply.
   */
  private closure(targets: number[], context: number, restart: boolean): number[] {
    if (++this.mark === 0x7fffffff) {
      this.seen.fill(-1);
      this.mark = 0;
    }
    const out: number[] = [];
    const stack = restart ? [...targets, this.start] : targets;
    while (stack.length > 0) {
      const st = stack.pop()!;
      if (this.seen[st] === this.mark) continue;
      this.seen[st] = this.mark;
      switch (this.op[st]) {
        case MATCH:
          out.push(-1);
          break;
        case CHAR:
          out.push(st);
          break;
        case ASSERT:
          if (this.assertTests[st]!(context)) stack.push(this.next[st]!);
          break;
        case SPLIT:
          stack.push(this.alt[st]!, this.next[st]!);
          break;
      }
    }
    return out;
  }

  /** The cached DFA state for an NFA state set (a fresh uncached one once the cache is full). */
  private dfaState(states: number[]): DfaState {
    const matched = states.includes(-1);
    const chars = matched ? [] : states.sort((a, b) => a - b);
    const key = matched ? 'match' : chars.join(',');
    const known = this.interned.get(key);
    if (known !== undefined) return known;
    const d: DfaState = { chars, matched, ascii: [], other: new Map() };
    if (this.interned.size < MAX_CACHED_STATES) this.interned.set(key, d);
    return d;
  }

  private state(op: number, next = -1, alt = -1, charTest?: CharTest, assertTest?: AssertTest): number {
    this.op.push(op);
    this.next.push(next);
    this.alt.push(alt);
    this.charTests.push(charTest);
    this.assertTests.push(assertTest);
    return this.op.length - 1;
  }

  /** Compiles `node` to continue at state `then`; returns its entry state. */
  private compile(node: Node, then: number): number {
    switch (node.t) {
      case 'char':
        return this.state(CHAR, then, -1, node.test);
      case 'assert':
        return this.state(ASSERT, then, -1, undefined, node.test);
      case 'cat':
        return node.items.reduceRight((next, item) => this.compile(item, next), then);
      case 'alt':
        return node.items.map((item) => this.compile(item, then)).reduceRight((rest, entry) => this.state(SPLIT, entry, rest));
      case 'repeat': {
        if (node.op === '?') return this.state(SPLIT, this.compile(node.item, then), then);
        // x* and x+ loop through a SPLIT that goes round again or on to `then`.
        const loop = this.state(SPLIT, -1, then);
        const body = this.compile(node.item, loop);
        this.next[loop] = body;
        return node.op === '*' ? loop : body;
      }
    }
  }
}

/**
 * The runs of consecutive literal code points in the top level of `tree` (nested plain groups
 * included): anything else (a class, a repeat, an alternation, an assertion) ends a run.
 */
function requiredRuns(tree: Node): string[] {
  const runs: string[] = [];
  let run = '';
  const visit = (node: Node): void => {
    if (node.t === 'cat') {
      for (const item of node.items) visit(item);
      return;
    }
    if (node.t === 'char' && node.cp !== undefined) {
      run += String.fromCodePoint(node.cp);
      return;
    }
    if (run !== '') runs.push(run);
    run = '';
  };
  visit(tree);
  if (run !== '') runs.push(run);
  return runs.sort((a, b) => b.length - a.length);
}
