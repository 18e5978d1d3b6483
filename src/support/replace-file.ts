// Replacing a file at once: readers (other kiln processes too) see the old file or the new one,
// never half of it. Not fsynced: for records a crash may lose but must not corrupt (caches,
// snapshot metadata under snapshot/durability.ts, settings). The store's own files, which must
// survive a power cut, go through store/fsutil.ts writeFileAtomic instead.
import { chmodSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

/**
 * Writes `data` to a temp file beside `path` (hidden, so a directory listing never takes it for
 * a record) and renames it over `path`. The temp file is removed when anything fails, and the
 * error is thrown. `mode` is applied exactly (not through the umask).
 */
export function replaceFile(path: string, data: string | Uint8Array, opts: { readonly mode?: number } = {}): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeFileSync(tmp, data, opts.mode === undefined ? undefined : { mode: opts.mode });
    if (opts.mode !== undefined) chmodSync(tmp, opts.mode);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
