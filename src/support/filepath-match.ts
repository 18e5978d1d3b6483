// Go's `path/filepath.Match` on Unix, reproduced exactly (COPY source wildcards in Docker use
// it). The pattern syntax:
//
//   '*'            any run of non-'/' characters      '?'   one non-'/' character
//   '[' ['^'] ranges ']'   a character class (must be non-empty; '^' negates, '!' does NOT)
//   '\' c          the character c                    c     itself
//   range: c | '\' c | lo '-' hi     ('-' and ']' must be escaped inside a class)
//
// Like Go, matching works on UTF-8 bytes: literals compare bytes, while '?' and classes consume
// one rune (an invalid byte counts as one rune), and '*' may resume at any byte offset. The
// pattern must match the whole name.
import { KilnError } from '../errors.js';

const SLASH = 0x2f;
const BACKSLASH = 0x5c;
const STAR = 0x2a;
const QUESTION = 0x3f;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const CARET = 0x5e;
const DASH = 0x2d;
const RUNE_ERROR = 0xfffd;

const encoder = new TextEncoder();

class BadPattern extends Error {}

/** Go's utf8.DecodeRune on bytes[i:end): [rune, size]; invalid input gives [U+FFFD, 1], empty [U+FFFD, 0]. */
function decodeRune(b: Uint8Array, i: number, end: number): [number, number] {
  if (i >= end) return [RUNE_ERROR, 0];
  const c0 = b[i]!;
  if (c0 < 0x80) return [c0, 1];
  const need = c0 >= 0xc2 && c0 <= 0xdf ? 1 : c0 >= 0xe0 && c0 <= 0xef ? 2 : c0 >= 0xf0 && c0 <= 0xf4 ? 3 : -1;
  if (need < 0 || i + need >= end) return [RUNE_ERROR, 1]; // bad lead byte or cut short
  // Second byte has a narrowed range for some lead bytes (overlongs, surrogates, > U+10FFFF).
  const c1 = b[i + 1]!;
  let lo = 0x80;
  let hi = 0xbf;
  if (c0 === 0xe0) lo = 0xa0;
  else if (c0 === 0xed) hi = 0x9f;
  else if (c0 === 0xf0) lo = 0x90;
  else if (c0 === 0xf4) hi = 0x8f;
  if (c1 < lo || c1 > hi) return [RUNE_ERROR, 1];
  if (need === 1) return [((c0 & 0x1f) << 6) | (c1 & 0x3f), 2];
  const c2 = b[i + 2]!;
  if (c2 < 0x80 || c2 > 0xbf) return [RUNE_ERROR, 1];
  if (need === 2) return [((c0 & 0x0f) << 12) | ((c1 & 0x3f) << 6) | (c2 & 0x3f), 3];
  const c3 = b[i + 3]!;
  if (c3 < 0x80 || c3 > 0xbf) return [RUNE_ERROR, 1];
  return [((c0 & 0x07) << 18) | ((c1 & 0x3f) << 12) | ((c2 & 0x3f) << 6) | (c3 & 0x3f), 4];
}

/** getEsc: a possibly escaped character of a class. Returns [rune, next index]. */
function getEsc(c: Uint8Array, i: number, end: number): [number, number] {
  if (i >= end || c[i] === DASH || c[i] === RBRACKET) throw new BadPattern();
  if (c[i] === BACKSLASH) {
    i++;
    if (i >= end) throw new BadPattern();
  }
  const [r, n] = decodeRune(c, i, end);
  if (r === RUNE_ERROR && n === 1) throw new BadPattern();
  if (i + n >= end) throw new BadPattern(); // the class is never closed
  return [r, i + n];
}

/**
 * matchChunk: does chunk c[ci:cend) match a prefix of s[si:)? Returns the index in s after the
 * match, or -1. After a mismatch it keeps parsing the chunk so that a malformed chunk always
 * throws BadPattern.
 */
function matchChunk(c: Uint8Array, ci: number, cend: number, s: Uint8Array, si: number): number {
  const send = s.length;
  let failed = false;
  while (ci < cend) {
    failed = failed || si >= send;
    const ch = c[ci]!;
    if (ch === LBRACKET) {
      let r = -1;
      if (!failed) {
        const [rr, n] = decodeRune(s, si, send);
        r = rr;
        si += n;
      }
      ci++;
      let negated = false;
      if (ci < cend && c[ci] === CARET) {
        negated = true;
        ci++;
      }
      let match = false;
      let nrange = 0;
      for (;;) {
        if (ci < cend && c[ci] === RBRACKET && nrange > 0) {
          ci++;
          break;
        }
        let lo: number;
        [lo, ci] = getEsc(c, ci, cend);
        let hi = lo;
        if (c[ci] === DASH) [hi, ci] = getEsc(c, ci + 1, cend);
        match = match || (lo <= r && r <= hi);
        nrange++;
      }
      failed = failed || match === negated;
    } else if (ch === QUESTION) {
      if (!failed) {
        failed = s[si] === SLASH;
        si += decodeRune(s, si, send)[1];
      }
      ci++;
    } else {
      if (ch === BACKSLASH) {
        ci++;
        if (ci >= cend) throw new BadPattern();
      }
      if (!failed) {
        failed = c[ci] !== s[si];
        si++;
      }
      ci++;
    }
  }
  return failed ? -1 : si;
}

interface Chunk {
  readonly star: boolean;
  readonly start: number;
  readonly end: number;
}

/** scanChunk over the whole pattern: each chunk is a star-free run, possibly preceded by stars. */
function scanChunks(p: Uint8Array): Chunk[] {
  const chunks: Chunk[] = [];
  let i = 0;
  while (i < p.length) {
    let star = false;
    while (i < p.length && p[i] === STAR) {
      i++;
      star = true;
    }
    const start = i;
    let inrange = false;
    scan: for (; i < p.length; i++) {
      switch (p[i]) {
        case BACKSLASH:
          if (i + 1 < p.length) i++;
          break;
        case LBRACKET:
          inrange = true;
          break;
        case RBRACKET:
          inrange = false;
          break;
        case STAR:
          if (!inrange) break scan;
          break;
      }
    }
    chunks.push({ star, start, end: i });
  }
  return chunks;
}

/** Go's Match loop over pre-scanned chunks. Throws BadPattern when Go would return ErrBadPattern. */
function matchChunks(p: Uint8Array, chunks: readonly Chunk[], name: Uint8Array): boolean {
  let ni = 0;
  pattern: for (let k = 0; k < chunks.length; k++) {
    const { star, start, end } = chunks[k]!;
    const last = k === chunks.length - 1;
    if (star && start === end) {
      // Trailing '*' matches the rest of the name unless it has a '/'.
      return name.indexOf(SLASH, ni) < 0;
    }
    const t = matchChunk(p, start, end, name, ni);
    if (t >= 0 && (t === name.length || !last)) {
      ni = t;
      continue;
    }
    if (star) {
      // Try again after skipping i+1 bytes; a '*' cannot skip a '/'.
      for (let i = ni; i < name.length && name[i] !== SLASH; i++) {
        const t2 = matchChunk(p, start, end, name, i + 1);
        if (t2 >= 0) {
          if (last && t2 < name.length) continue;
          ni = t2;
          continue pattern;
        }
      }
    }
    return false;
  }
  return ni === name.length;
}

function badPattern(pattern: string): KilnError {
  return new KilnError('PATTERN_INVALID', `syntax error in pattern ${JSON.stringify(pattern)}`, {
    hint: "check the brackets and escapes: a class must be closed (e.g. '[a-z]'), '-' and ']' inside it must be escaped, and a trailing '\\' escapes nothing",
  });
}

/**
 * Reports whether `name` matches the shell pattern, exactly like Go's `filepath.Match` on Unix
 * (including when it reports a bad pattern: Go stops at the first mismatch, so a malformed tail
 * is only noticed for some names). Throws KilnError PATTERN_INVALID for `ErrBadPattern`.
 */
export function filepathMatch(pattern: string, name: string): boolean {
  const p = encoder.encode(pattern);
  try {
    return matchChunks(p, scanChunks(p), encoder.encode(name));
  } catch (e) {
    if (e instanceof BadPattern) throw badPattern(pattern);
    throw e;
  }
}

/** A `filepath.Match` pattern checked and split once, for matching many names. */
export class FilepathPattern {
  readonly pattern: string;
  /** True when the pattern has no wildcard or escape, so it only matches itself. */
  readonly literal: boolean;
  readonly #bytes: Uint8Array;
  readonly #chunks: readonly Chunk[];

  /**
   * Throws KilnError PATTERN_INVALID if any part of the pattern is malformed, i.e. whenever
   * Go's Match would report ErrBadPattern for at least one name.
   */
  constructor(pattern: string) {
    this.pattern = pattern;
    this.literal = !hasGlobMeta(pattern);
    this.#bytes = encoder.encode(pattern);
    this.#chunks = scanChunks(this.#bytes);
    try {
      // With an empty subject, matchChunk fails at once and just parses the whole chunk.
      for (const c of this.#chunks) matchChunk(this.#bytes, c.start, c.end, new Uint8Array(0), 0);
    } catch (e) {
      if (e instanceof BadPattern) throw badPattern(pattern);
      throw e;
    }
  }

  /** Whether the whole of `name` matches (same answer as Go's filepath.Match). Never throws. */
  match(name: string): boolean {
    if (this.literal) return name === this.pattern;
    return matchChunks(this.#bytes, this.#chunks, encoder.encode(name));
  }
}

/** Compiles a pattern once (see FilepathPattern); throws KilnError PATTERN_INVALID if malformed. */
export function compileFilepathPattern(pattern: string): FilepathPattern {
  return new FilepathPattern(pattern);
}

/** Go's filepath hasMeta on Unix: does the path contain any of `* ? [ \`? */
export function hasGlobMeta(path: string): boolean {
  return /[*?[\\]/.test(path);
}
