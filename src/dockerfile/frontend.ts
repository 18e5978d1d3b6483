// The `# syntax=` parser directive names the frontend BuildKit hands the Dockerfile to: an image
// it pulls and runs. kiln's frontend is built in and follows docker/dockerfile, so that image (any
// tag or digest, and the -upstream builds) is kiln itself; any other frontend is code kiln cannot
// run, and building with kiln's semantics instead would be a silent substitution.
import { KilnError } from '../errors.js';
import type { Ast } from './ast.js';
import { dockerfileError } from './fail.js';

const OURS = /^(?:(?:docker\.io|index\.docker\.io|registry-1\.docker\.io)\/)?docker\/dockerfile(?:-upstream)?(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$/;

/** Whether `ref` (a `# syntax=` value or BUILDKIT_SYNTAX) names the docker/dockerfile frontend. */
export function isDockerfileFrontend(ref: string): boolean {
  return OURS.test(ref.trim());
}

/**
 * Throws NOT_IMPLEMENTED, at the directive's line, when the Dockerfile asks for a frontend other
 * than docker/dockerfile; `override` is a BUILDKIT_SYNTAX build arg, which BuildKit lets win.
 */
export function checkFrontend(ast: Ast, override?: string): void {
  const hint = 'kiln builds Dockerfiles with its own docker/dockerfile frontend: remove the line, or write `# syntax=docker/dockerfile:1`';
  if (override !== undefined && override !== '') {
    if (!isDockerfileFrontend(override)) throw new KilnError('NOT_IMPLEMENTED', `the frontend ${JSON.stringify(override)} (BUILDKIT_SYNTAX) is not supported by this version of kiln`, { hint: 'drop --build-arg BUILDKIT_SYNTAX, or name docker/dockerfile' });
    return;
  }
  const syntax = ast.directives.syntax;
  if (syntax === undefined || isDockerfileFrontend(syntax)) return;
  // directives are the first lines; find the one that set it
  let line = ast.lines.findIndex((l) => /^\ufeff?#\s*syntax\s*=/i.test(l)) + 1;
  if (line === 0) line = 1;
  throw dockerfileError({ lines: ast.lines, file: ast.file }, { file: ast.file, startLine: line, endLine: line }, 'NOT_IMPLEMENTED', `the frontend ${JSON.stringify(syntax)} (# syntax=) is not supported by this version of kiln`, hint);
}
