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

/** Go's `%+v` of a HealthcheckConfig. */
export function healthString(h: NonNullable<WorkingConfig['Healthcheck']>): string {
  const d = (n: number | undefined): string => formatGoDuration(n ?? 0);
  return `{Test:${goList(h.Test ?? [])} Interval:${d(h.Interval)} Timeout:${d(h.Timeout)} StartPeriod:${d(h.StartPeriod)} StartInterval:${d(h.StartInterval)} Retries:${h.Retries ?? 0}}`;
}

/** The ARGs in scope as `K=V` (value from the env when set there, e.g. by a later ENV), first position kept. */
export function buildArgPairs(buildArgs: readonly BuildArg[], env: EnvList): string[] {
  const out: string[] = [];
  const at = new Map<string, number>();
  for (const a of buildArgs) {
    const v = env.get(a.key) ?? a.value ?? '';
    const i = at.get(a.key);
    if (i !== undefined) out[i] = `${a.key}=${v}`;
    else {
      at.set(a.key, out.length);
      out.push(`${a.key}=${v}`);
    }
  }
  return out;
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
