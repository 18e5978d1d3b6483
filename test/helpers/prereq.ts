// Prerequisites of tests that need real components (runc, overlayfs, docker-registry, the corpus...).
// On a developer laptop a missing prerequisite skips the test with a message; with CI=true it is a
// failure, so CI can never go green by skipping.
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { TestContext } from 'node:test';

export const IN_CI = process.env['CI'] === 'true';

/** Absolute path of an executable on PATH (or the given absolute path), or undefined. */
export function which(cmd: string): string | undefined {
  const candidates = cmd.includes('/') ? [cmd] : (process.env['PATH'] ?? '').split(delimiter).map((d) => join(d, cmd));
  for (const p of candidates) {
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/**
 * Returns true when the prerequisite holds. Otherwise: under CI=true, fails the test;
 * elsewhere, marks it skipped with the reason and returns false (the caller returns).
 */
export function prereq(t: TestContext, ok: boolean, what: string): boolean {
  if (ok) return true;
  if (IN_CI) throw new Error(`prerequisite missing under CI=true: ${what}`);
  t.skip(`prerequisite missing: ${what}`);
  return false;
}

export function needCommand(t: TestContext, cmd: string): string | undefined {
  const p = which(cmd);
  return prereq(t, p !== undefined, `command ${cmd} (run as root: bash scripts/ensure-deps.sh)`) ? p : undefined;
}

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

export function needRoot(t: TestContext): boolean {
  return prereq(t, isRoot, 'root (namespaces, mounts, chown)');
}

/** The shared third-party corpus (../shared/corpus from the project root), if present. */
export function corpusDir(): string | undefined {
  const root = new URL('../../../', import.meta.url).pathname; // dist/test/helpers → project root
  const dir = join(root, '..', 'shared', 'corpus');
  return existsSync(dir) ? dir : undefined;
}
