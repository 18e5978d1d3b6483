// Finding the OCI runtime: `--runtime PATH` when given, else `runc` on PATH.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { KilnError } from '../errors.js';

export interface FindRuntimeOptions {
  /** The --runtime option: a path (or a command name looked up on PATH). */
  readonly runtime?: string;
  /** Environment whose PATH is searched. Default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function lookPath(cmd: string, pathVar: string): string | undefined {
  for (const dir of pathVar.split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, cmd);
    if (executable(p)) return p;
  }
  return undefined;
}

/** Absolute path of the OCI runtime to use; RUNTIME_UNAVAILABLE when there is none. */
export function findRuntime(opts: FindRuntimeOptions = {}): string {
  const env = opts.env ?? process.env;
  const pathVar = env['PATH'] ?? '';
  if (opts.runtime !== undefined && opts.runtime !== '') {
    const r = opts.runtime;
    const p = r.includes('/') ? (isAbsolute(r) ? r : resolve(r)) : lookPath(r, pathVar);
    if (p === undefined || !executable(p)) {
      throw new KilnError('RUNTIME_UNAVAILABLE', `the OCI runtime given with --runtime (${r}) is not an executable file`, {
        hint: 'pass the path of a runc binary, e.g. --runtime /usr/sbin/runc',
      });
    }
    return p;
  }
  const found = lookPath('runc', pathVar);
  if (found === undefined) {
    throw new KilnError('RUNTIME_UNAVAILABLE', 'RUN needs an OCI runtime, and runc was not found on PATH', {
      hint: 'install runc (Debian/Ubuntu: apt-get install runc) or pass --runtime /path/to/runc',
    });
  }
  return found;
}
