// Errors raised while typing instructions: always a KilnError pointing at the instruction's
// lines (location + the file's lines), so formatError shows `Dockerfile:LINE` and the snippet.
import { KilnError, type ErrorCode, type SourceRange } from '../errors.js';
import type { InstructionNode } from './ast.js';

/** Where an instruction came from: its node plus the file it is in (for error snippets). */
export interface NodeContext {
  readonly node: InstructionNode;
  readonly lines: readonly string[];
  readonly file: string;
}

export function rangeOf(ctx: NodeContext): SourceRange {
  const r = ctx.node.range;
  return r.file === undefined ? { ...r, file: ctx.file } : r;
}

export function dockerfileError(
  ctx: { readonly lines: readonly string[]; readonly file: string },
  range: SourceRange,
  code: ErrorCode,
  message: string,
  hint?: string,
  more: readonly SourceRange[] = [],
): KilnError {
  const loc = range.file === undefined ? { ...range, file: ctx.file } : range;
  return new KilnError(code, message, {
    location: [loc, ...more],
    sourceLines: ctx.lines,
    ...(hint === undefined ? {} : { hint }),
  });
}

/** Throws a KilnError located at the instruction of `ctx`. */
export function fail(ctx: NodeContext, code: ErrorCode, message: string, hint?: string): never {
  throw dockerfileError(ctx, rangeOf(ctx), code, message, hint);
}
