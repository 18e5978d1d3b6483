// Temporary directories that are removed again, even when the work inside them throws.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Creates a fresh directory `<parent>/<prefix>XXXXXX` (parent defaults to the OS temp dir). */
export function makeTempDir(prefix = 'kiln-', parent: string = tmpdir()): string {
  return mkdtempSync(join(parent, prefix));
}

/** Removes a directory tree; never throws for a missing path. */
export function removeTree(path: string): void {
  rmSync(path, { recursive: true, force: true, maxRetries: 3 });
}

/** Runs `fn` with a fresh temp dir and removes the dir afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T> | T, prefix = 'kiln-', parent?: string): Promise<T> {
  const dir = makeTempDir(prefix, parent);
  try {
    return await fn(dir);
  } finally {
    removeTree(dir);
  }
}
