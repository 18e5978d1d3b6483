// History `created_by` and display strings as BuildKit prints them (Go's fmt verbs on its types).
import { formatGoDuration, goQuote, ShellLex, type ShellEnv } from '../dockerfile/index.js';
import type { BuildArg, WorkingConfig } from './state.js';
import type { EnvList } from './env.js';

/** Go's `%q` of a []string: `["a" "b"]`. */
export function goQuoteList(a: readonly string[]): string {
  return `[${a.map(goQuote).join(' ')}]`;
}

/** Go's `%v` of a []string: `[a b]`. */
export function goList(a: readonly string[]): string {
  return `[${a.join(' ')}]`;
}

/** Go's `%q` of an int: a quoted rune literal (`4` → `'\x04'`, `65` → `'A'`). */
export function goQuoteRune(n: number): string {
  const named: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 39: "\\'", 92: '\\\\' };
  if (named[n] !== undefined) return `'${named[n]}'`;
  if (n >= 0x20 && n < 0x7f) return `'${String.fromCharCode(n)}'`;
  if (n >= 0 && n < 0x80) return `'\\x${n.toString(16).padStart(2, '0')}'`;
  return `'\\u${n.toString(16).padStart(4, '0')}'`;
}

/**
 * HEALTHCHECK's history text as Docker 26's BuildKit (0.13) writes it: Go's `%q` of a
 * *HealthConfig, e.g. `&{["CMD" "curl" "-f" "x"] "5s" "3s" "0s" "0s" '\x03'}`.
 */
export function healthString(h: NonNullable<WorkingConfig['Healthcheck']>): string {
  const d = (n: number | undefined): string => goQuote(formatGoDuration(n ?? 0));
  return `&{${goQuoteList(h.Test ?? [])} ${d(h.Interval)} ${d(h.Timeout)} ${d(h.StartPeriod)} ${d(h.StartInterval)} ${goQuoteRune(h.Retries ?? 0)}}`;
}

/** EXPOSE's history text as Docker 26's BuildKit writes it: Go's `%v` of a port set (a map: sorted keys). */
export function exposeString(ports: readonly string[]): string {
  return `map[${[...new Set(ports)].sort().map((p) => `${p}:{}`).join(' ')}]`;
}

/**
 * The `K=V` list of RUN's history text, as Docker 26's BuildKit (0.13) builds it in
 * runCommandString: one entry per ARG declaration of this stage, in declaration order (a
 * redeclared ARG is listed again), each valued from the build env when set there (so a later
 * ENV or ARG of the same name shows), else from the declaration ('' without one).
 */
export function buildArgPairs(buildArgs: readonly BuildArg[], env: EnvList): string[] {
  return buildArgs.map((a) => `${a.key}=${env.get(a.key) ?? a.value ?? ''}`);
}

/** BuildKit's runCommandString: `|N K=V ... argv...`. */
export function runCommandString(argv: readonly string[], pairs: readonly string[]): string {
  const head = pairs.length > 0 ? [`|${pairs.length}`, ...pairs] : [];
  return [...head, ...argv].join(' ');
}

/** BuildKit's processCmdEnv + uppercaseCmd: the instruction with variables expanded (as is on error). */
export function displayCommand(lex: ShellLex, text: string, env: ShellEnv): string {
  let w: string;
  try {
    w = lex.processWord(text, env).result;
  } catch {
    w = text;
  }
  const sp = w.indexOf(' ');
  return sp < 0 ? w.toUpperCase() : w.slice(0, sp).toUpperCase() + w.slice(sp);
}

/** The lexer BuildKit uses for RUN display names: quotes kept, unset variables left as written. */
export function runDisplayLexer(escapeToken: '\\' | '`'): ShellLex {
  return new ShellLex({ escapeToken, rawQuotes: true, skipUnsetEnv: true });
}

/** First line of a heredoc, `...` when there are more (summarizeHeredoc). */
export function summarizeHeredoc(doc: string): string {
  const lines = doc.trim().replace(/\r\n/g, '\n').split('\n');
  return lines.length > 1 ? `${lines[0]}...` : lines[0]!;
}
