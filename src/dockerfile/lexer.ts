// Dockerfile line handling, as BuildKit's parser does it: physical lines (BOM, CRLF), parser
// directives (`# escape=`, `# syntax=`, `# check=`), comments, and escape-token continuations
// joined into one logical instruction line. Pure string work; no regular expressions that can
// backtrack.

import { KilnError, type ErrorCode } from '../errors.js';
import type { Warning } from './ast.js';

/** Go's unicode.IsSpace (the White_Space property; note: no U+FEFF, unlike JS `\s`). */
export function isGoSpace(c: string | undefined): boolean {
  if (c === undefined) return false;
  const n = c.charCodeAt(0);
  if (n <= 0x20) return n === 0x20 || (n >= 0x09 && n <= 0x0d);
  if (n < 0x85) return false;
  return (
    n === 0x85 || n === 0xa0 || n === 0x1680 || (n >= 0x2000 && n <= 0x200a) ||
    n === 0x2028 || n === 0x2029 || n === 0x202f || n === 0x205f || n === 0x3000
  );
}

/** Go's strings.TrimSpace. */
export function goTrimSpace(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isGoSpace(s[a])) a++;
  while (b > a && isGoSpace(s[b - 1])) b--;
  return s.slice(a, b);
}

export function goTrimLeftSpace(s: string): string {
  let a = 0;
  while (a < s.length && isGoSpace(s[a])) a++;
  return s.slice(a);
}

/** Go's strings.ToLower: simple per-character mapping (JS's full mapping differs for U+0130 and final sigma). */
export function goToLower(s: string): string {
  let out = '';
  for (const c of s) {
    const l = c.toLowerCase();
    out += c === '\u0130' ? 'i' : l;
  }
  return out;
}

/** BuildKit's reWhitespace class `[\t\v\f\r ]`. */
export function isSplitSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\v' || c === '\f' || c === '\r';
}

/** strings.Split by the reWhitespace regex with limit n (-1 = no limit). */
export function splitWhitespace(s: string, limit = -1): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  while (i < s.length) {
    if (limit > 0 && out.length === limit - 1) break;
    if (isSplitSpace(s[i])) {
      out.push(s.slice(start, i));
      while (i < s.length && isSplitSpace(s[i])) i++;
      start = i;
    } else i++;
  }
  out.push(s.slice(start));
  return out;
}

/** The file, split into physical lines, with everything an error needs to point into it. */
export class Source {
  /** Physical lines without their "\n" (a trailing "\r" is kept here; see `lines`). */
  readonly raw: readonly string[];
  /** Display lines: CRLF → LF (for error snippets and Ast.lines). */
  readonly lines: readonly string[];

  constructor(
    text: string,
    readonly file: string,
  ) {
    if (text.startsWith('\uFEFF')) text = text.slice(1);
    const raw = text.split('\n');
    if (raw.length > 0 && raw[raw.length - 1] === '') raw.pop(); // a final "\n" ends the last line
    this.raw = raw;
    this.lines = raw.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  }

  error(code: ErrorCode, message: string, startLine: number, endLine = startLine, hint?: string): KilnError {
    const start = Math.max(1, startLine);
    return new KilnError(code, message, {
      location: [{ file: this.file, startLine: start, endLine: Math.max(start, endLine) }],
      sourceLines: this.lines,
      ...(hint === undefined ? {} : { hint }),
    });
  }

  /** Re-throws a location-less KilnError (from a helper) with this range; passes others through. */
  locate(e: unknown, startLine: number, endLine: number): KilnError {
    if (e instanceof KilnError) {
      if (e.location) return e;
      const r = this.error(e.code, e.message, startLine, endLine, e.details.hint);
      return e.with({ location: r.location, sourceLines: this.lines });
    }
    return this.error('INTERNAL', `parser failure: ${String(e)}`, startLine, endLine);
  }
}

/** bytes.TrimRight(line, "\r\n"). */
export function trimNewline(s: string): string {
  let b = s.length;
  while (b > 0 && (s[b - 1] === '\r' || s[b - 1] === '\n')) b--;
  return s.slice(0, b);
}

export function isComment(line: string): boolean {
  return goTrimLeftSpace(line).startsWith('#');
}

const DIRECTIVE_KEYS = new Set(['syntax', 'escape', 'check']);

/** Go regexp `\s`: [\t\n\f\r ]. */
function isReSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\f' || c === '\r';
}

function isAsciiLetter(c: string | undefined): boolean {
  return c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
}

/**
 * Matches `^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$` (RE2 leftmost-first semantics) by hand.
 * A value made only of whitespace matches as its last whitespace character, as RE2 does.
 */
export function matchDirective(line: string): { key: string; value: string } | undefined {
  let i = 0;
  if (!isAsciiLetter(line[0])) return undefined;
  while (i < line.length && (isAsciiLetter(line[i]) || (line[i]! >= '0' && line[i]! <= '9'))) i++;
  const key = line.slice(0, i);
  while (isReSpace(line[i])) i++;
  if (line[i] !== '=') return undefined;
  const rest = line.slice(i + 1);
  if (rest.length === 0 || rest.includes('\n')) return undefined;
  let a = 0;
  while (a < rest.length && isReSpace(rest[a])) a++;
  if (a === rest.length) return { key, value: rest.slice(-1) };
  let b = rest.length;
  while (b > a && isReSpace(rest[b - 1])) b--;
  return { key, value: rest.slice(a, b) };
}

/** The state of parser directives: which were seen, the escape token, when the section ended. */
export class DirectiveState {
  escape: '\\' | '`' = '\\';
  syntax: string | undefined;
  check: string | undefined;
  private done = false;
  private readonly seen = new Set<string>();

  /**
   * Looks at one line (newline-trimmed). Returns true when it was a directive.
   * Throws a location-less KilnError for a repeated directive or a bad escape token.
   */
  parseLine(line: string): boolean {
    if (this.done) return false;
    if (!line.startsWith('#')) {
      this.done = true;
      return false;
    }
    const m = matchDirective(goTrimLeftSpace(line.slice(1)));
    const key = m?.key.toLowerCase();
    if (m === undefined || key === undefined || !DIRECTIVE_KEYS.has(key)) {
      this.done = true;
      return false;
    }
    if (this.seen.has(key)) throw new KilnError('DOCKERFILE_SYNTAX', `only one ${key} parser directive can be used`);
    this.seen.add(key);
    if (key === 'escape') {
      if (m.value !== '`' && m.value !== '\\') {
        throw new KilnError('DOCKERFILE_SYNTAX', `invalid escape token '${m.value}' does not match \` or \\`, {
          hint: 'use "# escape=\\" or "# escape=`"',
        });
      }
      this.escape = m.value;
    } else if (key === 'syntax') this.syntax = m.value;
    else this.check = m.value;
    return true;
  }
}

/**
 * BuildKit's lineContinuationRegex, `([^E])E[ \t]*$|^E[ \t]*$` for escape token E, done by hand:
 * returns the line without its continuation token, or undefined when the line does not continue.
 */
export function trimContinuation(line: string, escape: string): string | undefined {
  let b = line.length;
  while (b > 0 && (line[b - 1] === ' ' || line[b - 1] === '\t')) b--;
  if (b === 0 || line[b - 1] !== escape) return undefined;
  const k = b - 1;
  if (k === 0) return '';
  if (line[k - 1] === escape) return undefined;
  return line.slice(0, k);
}

/** A cursor over the physical lines; `line` is the number of lines consumed (1-based of the last). */
export class LineCursor {
  line = 0;
  constructor(readonly src: Source) {}
  get done(): boolean {
    return this.line >= this.src.raw.length;
  }
  next(): string | undefined {
    if (this.done) return undefined;
    return this.src.raw[this.line++];
  }
}

export interface LogicalLine {
  readonly text: string;
  readonly startLine: number;
  readonly endLine: number;
}

/**
 * Reads the next instruction's logical line, joining continuations. Comment and blank lines
 * before it are consumed (and checked for directives); comment and blank lines inside it are
 * skipped (blank ones add a warning). Returns undefined at the end of the file.
 */
export function readLogicalLine(cur: LineCursor, dirs: DirectiveState, warnings: Warning[]): LogicalLine | undefined {
  for (;;) {
    const raw = cur.next();
    if (raw === undefined) return undefined;
    let token = goTrimLeftSpace(trimNewline(raw));
    try {
      dirs.parseLine(token);
    } catch (e) {
      throw cur.src.locate(e, cur.line, cur.line);
    }
    if (isComment(token)) token = '';
    const startLine = cur.line;
    const first = trimContinuation(token, dirs.escape);
    if (first === undefined && token.length === 0) continue;
    let text = first ?? token;
    let more = first !== undefined;
    let emptyContinuation = false;
    while (more) {
      const next = cur.next();
      if (next === undefined) break;
      const body = trimNewline(next);
      try {
        dirs.parseLine(body);
      } catch (e) {
        throw cur.src.locate(e, cur.line, cur.line);
      }
      if (isComment(next)) continue;
      if (goTrimLeftSpace(body).length === 0) {
        emptyContinuation = true;
        continue;
      }
      const t = trimContinuation(body, dirs.escape);
      more = t !== undefined;
      text += t ?? body;
    }
    if (emptyContinuation) {
      warnings.push({
        message: `Empty continuation line found in: ${text}`,
        range: { file: cur.src.file, startLine, endLine: cur.line },
      });
    }
    return { text, startLine, endLine: cur.line };
  }
}
