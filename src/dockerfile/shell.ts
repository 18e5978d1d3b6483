// Shell-word expansion with BuildKit's semantics (frontend/dockerfile/shell/lex.go): quotes,
// escapes, $V and ${V...} with the operators - + ? # % / (and their ':' forms), in one-word
// mode (spaces kept) and word-splitting mode. Each call also reports which variables it looked
// up and found (`matched`) or did not find (`unmatched`), for the UndefinedVar check.
import { KilnError, shortenText } from '../errors.js';
import { goQuote } from './dump.js';
import { EOF, LexError, Run, type LexSettings, type ShellEnv } from './shell-lexer.js';

export type { ShellEnv } from './shell-lexer.js';

/** How much longer than written an expansion may make a word (characters): 1 MiB, 8 times what exec takes. */
export const MAX_EXPANDED = 1024 * 1024;

export interface ShellLexOptions {
  /** The Dockerfile's escape token (`# escape=`): `\` (default) or a backtick. */
  escapeToken?: '\\' | '`';
  /** Keep quote characters in the output (quoting still groups words). */
  rawQuotes?: boolean;
  /** Keep escape characters in the output. */
  rawEscapes?: boolean;
  /** Treat quotes as ordinary characters. */
  skipProcessQuotes?: boolean;
  /** Leave references to unset variables as written (`$X`, `${X}`, `${X:-y}`...). */
  skipUnsetEnv?: boolean;
}

export interface ProcessResult {
  readonly result: string;
  /** Names referenced and set. */
  readonly matched: ReadonlySet<string>;
  /** Names referenced but unset. */
  readonly unmatched: ReadonlySet<string>;
}

export interface ProcessWordsResult {
  readonly words: string[];
  readonly matched: ReadonlySet<string>;
  readonly unmatched: ReadonlySet<string>;
}

/**
 * Expands shell words the way BuildKit's Dockerfile frontend does (its `shell.Lex`).
 *
 * - `processWord` expands one word and keeps spaces (ENV/ARG values, WORKDIR, USER, COPY paths...).
 * - `processWords` expands, then splits on unquoted whitespace (EXPOSE, heredoc detection...).
 *
 * Both return the variable names looked up: `matched` (set, even if empty) and `unmatched`
 * (unset). Failures throw `KilnError('ARG_EXPANSION')` with BuildKit's message, e.g.
 * `failed to process "${V:?msg}": V: msg`; the caller adds the Dockerfile location.
 *
 * Kept as in BuildKit: the patterns of `#`, `%` and `/` know `*`, `?` and `\` but no `[...]`
 * classes (`[` is literal); in `processWords`, a `${V<op>...}` expansion drops the part of the
 * current word before it (`a${X:-b}c` → `bc`). One deliberate difference: input ending inside
 * `${NAME` reports "missing '}'" instead of BuildKit's "unsupported modifier (\ufffd)".
 */
export class ShellLex implements LexSettings {
  readonly escapeToken: '\\' | '`';
  readonly rawQuotes: boolean;
  readonly rawEscapes: boolean;
  readonly skipProcessQuotes: boolean;
  readonly skipUnsetEnv: boolean;

  constructor(opts: ShellLexOptions = {}) {
    this.escapeToken = opts.escapeToken ?? '\\';
    this.rawQuotes = opts.rawQuotes ?? false;
    this.rawEscapes = opts.rawEscapes ?? false;
    this.skipProcessQuotes = opts.skipProcessQuotes ?? false;
    this.skipUnsetEnv = opts.skipUnsetEnv ?? false;
  }

  /** Expands `word` as a single word: no splitting, spaces kept. */
  processWord(word: string, env: ShellEnv): ProcessResult {
    const run = new Run(word, this, env);
    const { result } = this.run(word, run);
    return { result, matched: run.matched, unmatched: run.unmatched };
  }

  /** Expands `word`, then splits it into words on unquoted, unescaped whitespace. */
  processWords(word: string, env: ShellEnv): ProcessWordsResult {
    const run = new Run(word, this, env);
    const { words } = this.run(word, run);
    return { words, matched: run.matched, unmatched: run.unmatched };
  }

  private run(word: string, run: Run): { result: string; words: string[] } {
    try {
      const out = run.processStopOn(EOF, this.rawEscapes);
      if (out.result.length > word.length + MAX_EXPANDED) {
        // ARG B=${A}${A} doubles per line: forty lines would be terabytes, and Node would abort
        // on its heap limit with no line to show. Far above what exec allows (128 KiB a string).
        // What is written out (a big COPY heredoc) may be any size: only expansion is capped.
        throw new KilnError('ARG_EXPANSION', `failed to process ${shortenText(goQuote(word))}: it expands to ${out.result.length} characters, ${out.result.length - word.length} more than written, over kiln's limit of ${MAX_EXPANDED}`, {
          hint: 'a value this large cannot reach a RUN step anyway (Linux limits one argument or variable to 128 KiB); check for a variable that refers to itself twice',
        });
      }
      return out;
    } catch (e) {
      if (e instanceof LexError) {
        throw new KilnError('ARG_EXPANSION', `failed to process ${shortenText(goQuote(word))}: ${e.message}`, {
          ...(e.hint !== undefined ? { hint: e.hint } : {}),
        });
      }
      // the lexer recurses into each ${...}: some 2,500 levels of ${A:-${B:-...}} fill Node's stack
      if (e instanceof RangeError && /call stack/i.test(e.message)) {
        throw new KilnError('ARG_EXPANSION', `failed to process ${shortenText(goQuote(word))}: \${...} nested too deeply for kiln`, {
          hint: 'nest fewer ${...} inside one another (kiln handles about two thousand levels), or split the value over several ARG or ENV lines',
        });
      }
      throw e;
    }
  }
}
