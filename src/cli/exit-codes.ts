// Exit codes, matching the docker CLI where it has one.
import type { ErrorCode } from '../errors.js';

export const ExitCode = {
  OK: 0,
  /** Any failure of the requested work (a build that fails, an image not found, ...). Docker: 1. */
  FAILURE: 1,
  /** Bad flags or arguments. The docker CLI exits 125 for its own usage errors. */
  USAGE: 125,
  /** `kiln run`: the command could not be invoked / was not found (as docker run). */
  CANNOT_INVOKE: 126,
  NOT_FOUND: 127,
  /** Interrupted by SIGINT (128 + 2). */
  INTERRUPTED: 130,
  /** Stopped by SIGTERM (128 + 15). */
  TERMINATED: 143,
} as const;

export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'USAGE':
    case 'NOT_IMPLEMENTED':
      return ExitCode.USAGE;
    case 'ABORTED':
      return ExitCode.INTERRUPTED;
    default:
      return ExitCode.FAILURE;
  }
}
