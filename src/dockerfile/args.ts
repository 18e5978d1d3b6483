// Per-instruction argument parsing, as BuildKit's line_parsers.go / split_command.go: the keyword,
// the leading `--flags`, then each instruction's own argument rule (JSON or shell form, words,
// ENV/LABEL key-value triples, HEALTHCHECK type + command, ONBUILD sub-instruction).
// Helpers throw location-less KilnErrors; parser.ts adds the instruction's lines.

import { KilnError } from '../errors.js';
import { goQuote } from './dump.js';
import { goTrimLeftSpace, goTrimSpace, isGoSpace, splitWhitespace } from './lexer.js';

/** What an argument rule produced: plain values, or (ONBUILD) one nested instruction line. */
export type ParsedArgs =
  | { readonly kind: 'values'; readonly values: readonly string[]; readonly json: boolean }
  | { readonly kind: 'sub'; readonly line: string };

const NONE: ParsedArgs = { kind: 'values', values: [], json: false };

export interface SplitCommand {
  readonly keyword: string;
  readonly flags: readonly string[];
  /** The arguments after the flags, trimmed. */
  readonly args: string;
  /** The text after the keyword (flags included), trimmed. */
  readonly original: string;
}

/** splitCommand: keyword, then the leading `--flag` words (quotes and escapes removed). */
export function splitCommand(line: string, escape: string): SplitCommand {
  const parts = splitWhitespace(goTrimSpace(line), 2);
  const keyword = parts[0] ?? '';
  const rest = parts[1];
  if (rest === undefined) return { keyword, flags: [], args: '', original: '' };
  const { args, flags } = extractBuilderFlags(rest, escape);
  return { keyword, flags, args: goTrimSpace(args), original: goTrimSpace(rest) };
}

/** extractBuilderFlags: words starting with `--` (a bare `--` ends them and is dropped). */
export function extractBuilderFlags(line: string, escape: string): { args: string; flags: string[] } {
  const flags: string[] = [];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let word = '';
  let quote = '';
  let blankOK = false;
  for (let pos = 0; pos <= line.length; pos++) {
    const ch = line[pos];
    if (phase === 'spaces') {
      if (ch === undefined) break;
      if (isGoSpace(ch)) continue;
      if (ch !== '-' || line[pos + 1] !== '-') return { args: line.slice(pos), flags };
      phase = 'word';
    }
    if (ch === undefined) {
      if (word !== '--' && (blankOK || word.length > 0)) flags.push(word);
      break;
    }
    if (phase === 'word') {
      if (isGoSpace(ch)) {
        if (word === '--') return { args: line.slice(pos), flags };
        if (blankOK || word.length > 0) flags.push(word);
        phase = 'spaces';
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
        continue;
      }
      if (ch === escape) {
        if (pos + 1 === line.length) continue; // an escape at the end is dropped
        pos++;
      }
      word += line[pos];
      continue;
    }
    // in quotes
    if (ch === quote) {
      phase = 'word';
      continue;
    }
    if (ch === escape) {
      if (pos + 1 === line.length) {
        phase = 'word';
        continue;
      }
      pos++;
    }
    word += line[pos];
  }
  return { args: '', flags };
}

/** parseWords: whitespace-separated words, quotes and escapes kept raw (ENV, LABEL, ARG). */
export function parseWords(rest: string, escape: string): string[] {
  const words: string[] = [];
  const chars = Array.from(rest);
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let quote = '';
  let blankOK = false;
  let word = '';
  for (let pos = 0; pos <= chars.length; pos++) {
    let ch = chars[pos];
    if (phase === 'spaces') {
      if (ch === undefined) break;
      if (isGoSpace(ch)) continue;
      phase = 'word';
    }
    if (ch === undefined) {
      if (blankOK || word.length > 0) words.push(word);
      break;
    }
    if (phase === 'word') {
      if (isGoSpace(ch)) {
        phase = 'spaces';
        if (blankOK || word.length > 0) words.push(word);
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
      }
      if (ch === escape) {
        if (pos + 1 === chars.length) continue;
        word += ch;
        ch = chars[++pos]!;
      }
      word += ch;
      continue;
    }
    if (ch === quote) phase = 'word';
    if (ch === escape && quote !== "'") {
      if (pos + 1 === chars.length) {
        phase = 'word';
        continue;
      }
      word += ch;
      ch = chars[++pos]!;
    }
    word += ch;
  }
  return words;
}

/** Go's encoding/json replaces unpaired surrogates with U+FFFD. */
function wellFormed(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        out += s[i]! + s[i + 1]!;
        i++;
        continue;
      }
    }
    out += c >= 0xd800 && c <= 0xdfff ? '\uFFFD' : s[i]!;
  }
  return out;
}

/** Go's JSON scanner rejects nesting deeper than 10000 (then the text is shell form). */
function tooDeep(s: string): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') {
      if (++depth > 10_000) return true;
    } else if (c === ']' || c === '}') depth--;
  }
  return false;
}

const NOT_STRINGS = 'when using JSON array syntax, arrays must be comprised of strings only';

/** parseJSON: a JSON array of strings, or undefined when `rest` is not valid JSON (shell form). */
function parseJSON(rest: string): string[] | undefined {
  rest = goTrimLeftSpace(rest);
  if (!rest.startsWith('[')) return undefined;
  if (tooDeep(rest)) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(rest);
  } catch {
    return undefined;
  }
  if (!Array.isArray(v)) return undefined;
  // Go fails to decode a number that overflows float64: that is invalid JSON, not a non-string.
  if (v.some((x) => typeof x === 'number' && !Number.isFinite(x))) return undefined;
  if (v.some((x) => typeof x !== 'string')) {
    throw new KilnError('DOCKERFILE_SYNTAX', NOT_STRINGS, {
      hint: 'write the exec form as a flat JSON array of strings, e.g. ["sh", "-c", "echo hi"]',
    });
  }
  return (v as string[]).map(wellFormed);
}

function maybeJSON(rest: string): ParsedArgs {
  if (rest === '') return NONE;
  const j = parseJSON(rest);
  return j ? { kind: 'values', values: j, json: true } : { kind: 'values', values: [rest], json: false };
}

function maybeJSONToList(rest: string): ParsedArgs {
  const j = parseJSON(rest);
  return j ? { kind: 'values', values: j, json: true } : whitespaceDelimited(rest);
}

function whitespaceDelimited(rest: string): ParsedArgs {
  if (rest === '') return NONE;
  return { kind: 'values', values: splitWhitespace(rest), json: false };
}

function wholeString(rest: string): ParsedArgs {
  return rest === '' ? NONE : { kind: 'values', values: [rest], json: false };
}

/** ENV / LABEL: `key value sep` triples; sep is "=" for k=v words and "" for the legacy form. */
function nameVal(rest: string, key: string, escape: string): ParsedArgs {
  const words = parseWords(rest, escape);
  if (words.length === 0) return NONE;
  if (!words[0]!.includes('=')) {
    const parts = splitWhitespace(rest, 2);
    if (parts.length < 2) {
      throw new KilnError('DOCKERFILE_SYNTAX', `${key} must have two arguments`, {
        hint: `write ${key} ${parts[0] ?? 'NAME'}=value`,
      });
    }
    return { kind: 'values', values: [parts[0]!, parts[1]!, ''], json: false };
  }
  const values: string[] = [];
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq < 0) {
      throw new KilnError(
        'DOCKERFILE_SYNTAX',
        `Syntax error - can't find = in ${goQuote(w)}. Must be of the form: name=value`,
        { hint: 'quote a value that contains spaces: NAME="a b"' },
      );
    }
    values.push(w.slice(0, eq), w.slice(eq + 1), '=');
  }
  return { kind: 'values', values, json: false };
}

/** HEALTHCHECK: the type word, then the rest parsed like CMD. */
function healthConfig(rest: string): ParsedArgs {
  let sep = 0;
  while (sep < rest.length && !isGoSpace(rest[sep])) sep++;
  let next = sep;
  while (next < rest.length && isGoSpace(rest[next])) next++;
  if (sep === 0) return NONE;
  const cmd = maybeJSON(rest.slice(next));
  if (cmd.kind !== 'values') return NONE;
  return { kind: 'values', values: [rest.slice(0, sep), ...cmd.values], json: cmd.json };
}

/** Dispatches on the lower-cased keyword; unknown keywords get one empty argument (parseIgnore). */
export function parseArgs(cmd: string, rest: string, escape: string): ParsedArgs {
  switch (cmd) {
    case 'add':
    case 'copy':
    case 'volume':
      return maybeJSONToList(rest);
    case 'run':
    case 'cmd':
    case 'entrypoint':
    case 'shell':
      return maybeJSON(rest);
    case 'arg':
      return { kind: 'values', values: parseWords(rest, escape), json: false };
    case 'env':
      return nameVal(rest, 'ENV', escape);
    case 'label':
      return nameVal(rest, 'LABEL', escape);
    case 'expose':
    case 'from':
      return whitespaceDelimited(rest);
    case 'healthcheck':
      return healthConfig(rest);
    case 'maintainer':
    case 'stopsignal':
    case 'user':
    case 'workdir':
      return wholeString(rest);
    case 'onbuild':
      return rest === '' ? NONE : { kind: 'sub', line: rest };
    default:
      return { kind: 'values', values: [''], json: false };
  }
}
