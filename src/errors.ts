// One error class for everything kiln reports, with stable codes (grep here for all of them),
// an optional Dockerfile location, a hint, and a cause chain. User errors are rendered without
// a stack (see formatError); --debug adds it.

/** A range of lines (1-based, inclusive) in a named source file such as a Dockerfile. */
export interface SourceRange {
  readonly file?: string;
  readonly startLine: number;
  readonly endLine: number;
  /** 1-based columns, when known. */
  readonly startCol?: number;
  readonly endCol?: number;
}

export type ErrorCode =
  // Dockerfile frontend
  | 'DOCKERFILE_SYNTAX'
  | 'DOCKERFILE_EMPTY'
  | 'UNKNOWN_INSTRUCTION'
  | 'UNKNOWN_FLAG'
  | 'INVALID_FLAG'
  | 'HEREDOC_UNTERMINATED'
  | 'ARG_EXPANSION'
  // planning
  | 'STAGE_NOT_FOUND'
  | 'STAGE_CYCLE'
  | 'PLAN_TOO_LARGE' // the plan would hold more inherited config than kiln keeps in memory (plan/budget.ts)
  | 'TARGET_NOT_FOUND'
  // context
  | 'CONTEXT_PATH_NOT_FOUND'
  | 'CONTEXT_PATH_OUTSIDE'
  | 'PATTERN_INVALID' // a malformed file-name pattern (COPY wildcard, .dockerignore line)
  // images, store, layers
  | 'IMAGE_NOT_FOUND'
  | 'IMAGE_INVALID'
  | 'PLATFORM_NOT_FOUND'
  | 'PLATFORM_INVALID'
  | 'REFERENCE_INVALID'
  | 'DIGEST_INVALID'
  | 'DIGEST_MISMATCH'
  | 'STORE_CORRUPT'
  | 'BLOB_NOT_FOUND'
  | 'STORE_LOCKED'
  | 'LAYER_INVALID'
  | 'LAYER_UNSAFE'
  | 'ARCHIVE_INVALID'
  // registry
  | 'REGISTRY_AUTH'
  | 'REGISTRY_HTTP'
  | 'REGISTRY_UNREACHABLE'
  // execution
  | 'RUNTIME_UNAVAILABLE'
  | 'SNAPSHOT_UNAVAILABLE'
  | 'RUN_FAILED'
  | 'CONTAINER_START' // kiln run: the runtime could not start the command (docker run's 126/127, details.exitCode)
  | 'SECRET_NOT_FOUND' // a RUN --mount=type=secret|ssh that is required but was not given to the build
  // cli
  | 'USAGE'
  | 'NOT_IMPLEMENTED'
  | 'ABORTED'
  | 'IO'
  | 'INTERNAL';

export interface KilnErrorDetails {
  readonly cause?: unknown;
  /** One line of advice: what to do about it. */
  readonly hint?: string;
  readonly location?: readonly SourceRange[];
  /** The lines of the file that `location` points into, so the error can show them. */
  readonly sourceLines?: readonly string[];
  /** The build stage the error happened in, when there is one. */
  readonly stage?: string;
  /** Exit code of a failed process (RUN_FAILED). */
  readonly exitCode?: number;
  /** Last lines of a failed process's output. */
  readonly outputTail?: string;
}

export class KilnError extends Error {
  override readonly name = 'KilnError';
  readonly code: ErrorCode;
  readonly details: KilnErrorDetails;

  constructor(code: ErrorCode, message: string, details: KilnErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.details = details;
  }

  get location(): readonly SourceRange[] | undefined {
    return this.details.location;
  }

  /** A copy with more details (e.g. the stage or the source lines, added by an outer layer). */
  with(extra: KilnErrorDetails): KilnError {
    const e = new KilnError(this.code, this.message, { ...this.details, ...extra });
    e.stack = this.stack;
    return e;
  }
}

export function isKilnError(e: unknown): e is KilnError {
  return e instanceof KilnError;
}

/** Wraps any thrown value as a KilnError (non-KilnErrors become INTERNAL or IO). */
export function toKilnError(e: unknown): KilnError {
  if (e instanceof KilnError) return e;
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return new KilnError('IO', e.message, { cause: e });
    if (e.name === 'AbortError') return new KilnError('ABORTED', 'operation aborted', { cause: e });
    return new KilnError('INTERNAL', e.message, { cause: e });
  }
  return new KilnError('INTERNAL', String(e));
}

const CONTEXT_LINES = 2;

/** Texts (a RUN command, a Dockerfile line) up to this many characters are shown whole. */
export const SHOWN_TEXT_MAX = 4096;

/**
 * A text as an error message quotes it: whole when it has a normal length, else its start and how
 * much was cut. BuildKit quotes a failed RUN's command whole, which for a generated 50 MB command
 * line is 50 MB of message, printed more than once.
 */
export function shortenText(s: string, max = SHOWN_TEXT_MAX): string {
  if (s.length <= max) return s;
  const keep = cutPoint(s, max);
  return `${s.slice(0, keep)}... [${s.length - keep} more characters]`;
}

/** Where to cut `s` to keep at most `n` UTF-16 units: `n`, or one less so as not to split a surrogate pair. */
export function cutPoint(s: string, n: number): number {
  const c = s.charCodeAt(n - 1);
  return n > 1 && c >= 0xd800 && c <= 0xdbff ? n - 1 : n;
}

/**
 * Renders an error the way `docker build` does: the file:line, a framed snippet with the
 * offending lines marked `>>>`, then `ERROR: message`, the stage and the hint. Stack only with debug.
 */
export function formatError(err: KilnError, opts: { debug?: boolean } = {}): string {
  const out: string[] = [];
  const loc = err.details.location?.[0];
  const lines = err.details.sourceLines;
  if (loc) {
    const file = loc.file ?? 'Dockerfile';
    out.push(loc.endLine > loc.startLine ? `${file}:${loc.startLine}-${loc.endLine}` : `${file}:${loc.startLine}`);
    if (lines && lines.length > 0) {
      const from = Math.max(1, loc.startLine - CONTEXT_LINES);
      const to = Math.min(lines.length, loc.endLine + (loc.endLine === loc.startLine ? CONTEXT_LINES : 0));
      const width = String(to).length;
      out.push('--------------------');
      for (let n = from; n <= to; n++) {
        const mark = n >= loc.startLine && n <= loc.endLine ? '>>>' : '   ';
        out.push(` ${String(n).padStart(width)} | ${mark} ${shortenText(lines[n - 1] ?? '')}`.trimEnd());
      }
      out.push('--------------------');
    }
  }
  const where = loc ? `${loc.file ?? 'Dockerfile'}:${loc.startLine}: ` : '';
  out.push(`ERROR: ${where}${err.message}`);
  if (err.details.stage !== undefined) out.push(`stage: ${err.details.stage}`);
  if (err.details.outputTail) {
    out.push('output (last lines):');
    for (const l of err.details.outputTail.replace(/\n$/, '').split('\n')) out.push(`  ${l}`);
  }
  if (err.details.hint) out.push(`hint: ${err.details.hint}`);
  if (opts.debug) {
    out.push(`code: ${err.code}`);
    let c: unknown = err;
    while (c instanceof Error) {
      if (c.stack) out.push(c.stack);
      c = c.cause;
    }
  }
  return out.join('\n');
}
