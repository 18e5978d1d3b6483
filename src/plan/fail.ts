// Planning errors: always a KilnError with the instruction's location, the Dockerfile's lines
// and (when known) the stage, so the CLI can show the snippet like `docker build` does.
import { KilnError, isKilnError, type ErrorCode, type SourceRange } from '../errors.js';

export interface ErrorContext {
  readonly sourceLines?: readonly string[];
  readonly file?: string;
  /** Display name of the stage being planned. */
  readonly stage?: string;
}

function at(ctx: ErrorContext, r: SourceRange): SourceRange {
  return r.file === undefined && ctx.file !== undefined ? { ...r, file: ctx.file } : r;
}

export function planError(
  ctx: ErrorContext,
  range: SourceRange | readonly SourceRange[],
  code: ErrorCode,
  message: string,
  hint?: string,
): KilnError {
  const ranges = (Array.isArray(range) ? range : [range]) as readonly SourceRange[];
  return new KilnError(code, message, {
    ...(ranges.length > 0 ? { location: ranges.map((r) => at(ctx, r)) } : {}),
    ...(ctx.sourceLines ? { sourceLines: ctx.sourceLines } : {}),
    ...(ctx.stage !== undefined ? { stage: ctx.stage } : {}),
    ...(hint !== undefined ? { hint } : {}),
  });
}

/** Adds location/source/stage to a KilnError thrown by `fn` (keeping a location it already has). */
export function withLocation(e: unknown, ctx: ErrorContext, range: SourceRange, fallback: ErrorCode = 'DOCKERFILE_SYNTAX'): KilnError {
  if (isKilnError(e)) {
    return e.with({
      location: e.location ?? [at(ctx, range)],
      ...(e.details.sourceLines === undefined && ctx.sourceLines ? { sourceLines: ctx.sourceLines } : {}),
      ...(e.details.stage === undefined && ctx.stage !== undefined ? { stage: ctx.stage } : {}),
    });
  }
  const message = e instanceof Error ? e.message : String(e);
  const hint = (e as { hint?: unknown } | undefined)?.hint;
  return planError(ctx, range, fallback, message, typeof hint === 'string' ? hint : undefined);
}

export function located<T>(ctx: ErrorContext, range: SourceRange, fn: () => T, fallback?: ErrorCode): T {
  try {
    return fn();
  } catch (e) {
    throw withLocation(e, ctx, range, fallback);
  }
}
