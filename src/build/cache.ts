// The local build cache: step cache key → the committed snapshot it produced, plus the layer blob
// once the step's change has been exported. One small JSON record per key, written atomically, so
// concurrent builds and crashes never leave a half-written record (a record that points to a
// vanished snapshot is simply a miss).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import type { Digest } from '../image/index.js';

export interface LayerRecord {
  readonly digest: Digest;
  readonly diffId: Digest;
  readonly size: number;
  readonly mediaType: string;
}

export interface CacheRecord {
  /** Committed snapshot id; null for an empty rootfs (scratch). */
  readonly snapshot: string | null;
  /** The step's layer, once written; `empty: true` when the step changed nothing. */
  readonly layer?: LayerRecord | { readonly empty: true };
  /** What the key was made of, for explaining misses. */
  readonly inputs?: Readonly<Record<string, string>>;
  readonly created: string;
}

/** sha256 of a canonical JSON of `parts` (a cache key). */
export function cacheKey(parts: Readonly<Record<string, unknown>>): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

export class BuildCache {
  private readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'cache');
    mkdirSync(this.dir, { recursive: true });
  }

  get(key: string): CacheRecord | undefined {
    try {
      return JSON.parse(readFileSync(join(this.dir, `${key}.json`), 'utf8')) as CacheRecord;
    } catch {
      return undefined;
    }
  }

  put(key: string, rec: CacheRecord): void {
    const tmp = join(this.dir, `.${key}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    writeFileSync(tmp, JSON.stringify(rec));
    renameSync(tmp, join(this.dir, `${key}.json`));
  }
}
