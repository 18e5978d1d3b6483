// The local build cache: step cache key → the committed snapshot it produced, plus the layer blob
// once the step's change has been exported. One small JSON record per key, written atomically, so
// concurrent builds and crashes never leave a half-written record (a record that points to a
// vanished snapshot is simply a miss; big key inputs sit beside it in `<key>.inputs`, read only
// when asked for). A record's mtime is its last use (touched on every hit),
// for LRU pruning. `slot-*` records remember, per (Dockerfile, stage, step position), the key the
// last build used there, so a miss can say which input changed.
import { mkdirSync, readFileSync, readdirSync, statSync, unlinkSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { Digest } from '../image/index.js';
import type { CopyTarget } from './copy/index.js';
import { replaceFile } from '../support/index.js';

export interface LayerRecord {
  readonly digest: Digest;
  readonly diffId: Digest;
  readonly size: number;
  readonly mediaType: string;
}

/** The named inputs of a step's cache key (never a secret's value: secrets count by id only). */
export interface KeyInputs {
  /** Key of the parent (previous step, base image or base stage). */
  readonly parent: string;
  /** `ref@digest` when the parent is the stage's base image. */
  readonly base?: string;
  /** sha256 of the step definition (after ARG/ENV expansion). */
  readonly definition: string;
  /** Build args in scope (RUN): name → value. */
  readonly buildArgs?: Readonly<Record<string, string>>;
  /** Context files read (COPY from the context, bind mounts of it): path → mode:content digest. */
  readonly files?: Readonly<Record<string, string>>;
  /** Digest of everything read from the context (paths, metadata, content). */
  readonly content?: string;
  /** Per source stage/image read (COPY --from, RUN --mount from=): label → digest of what is read. */
  readonly sources?: Readonly<Record<string, string>>;
  /** Per source: path → digest, for explaining which file of a stage changed. */
  readonly sourceFiles?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

export interface RecordMeta {
  readonly stage: string;
  readonly pos: string;
  readonly display: string;
}

export interface CacheRecord {
  /** Committed snapshot id; null for an empty rootfs (scratch). */
  readonly snapshot: string | null;
  /** The step's layer, once written; `empty: true` when the step changed nothing. */
  readonly layer?: LayerRecord | { readonly empty: true };
  /** What the key was made of, for explaining misses. */
  readonly inputs?: KeyInputs;
  /** A COPY from the context: where each match landed (for reusing its files, copy/reuse.ts). */
  readonly copyTargets?: readonly CopyTarget[];
  readonly meta?: RecordMeta;
  readonly created: string;
}

/**
 * Inputs this big (as JSON) go to `<key>.inputs` beside the record: a COPY of 20k context files
 * lists them all (~2 MB), and a cache hit, which needs only the snapshot, parsed them for ~25 ms.
 */
const INPUTS_APART = 16 * 1024;

/** sha256 of a canonical JSON of `parts` (a cache key). */
export function cacheKey(parts: Readonly<Record<string, unknown>>): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

export class BuildCache {
  readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'cache');
    mkdirSync(this.dir, { recursive: true });
  }

  private read<T>(name: string): T | undefined {
    try {
      return JSON.parse(readFileSync(join(this.dir, `${name}.json`), 'utf8')) as T;
    } catch {
      return undefined;
    }
  }

  private write(name: string, value: unknown): void {
    this.writeRaw(`${name}.json`, JSON.stringify(value));
  }

  private writeRaw(file: string, text: string): void {
    replaceFile(join(this.dir, file), text);
  }

  private unlinkQuietly(file: string): void {
    try {
      unlinkSync(join(this.dir, file));
    } catch {
      /* not there */
    }
  }

  get(key: string): CacheRecord | undefined {
    const rec = this.read<CacheRecord & { inputsFile?: true }>(key);
    if (rec?.inputsFile !== true) return rec;
    // big inputs live apart and are read only when asked for (a cache hit never asks)
    const { inputsFile: _f, ...rest } = rec;
    let inputs: KeyInputs | undefined | null = null;
    return Object.defineProperty(rest, 'inputs', {
      enumerable: true,
      get: () => {
        if (inputs === null) {
          try {
            inputs = JSON.parse(readFileSync(join(this.dir, `${key}.inputs`), 'utf8')) as KeyInputs;
          } catch {
            inputs = undefined; // gone or torn: a record without inputs (only the miss reason is poorer)
          }
        }
        return inputs;
      },
    });
  }

  put(key: string, rec: CacheRecord): void {
    const inputs = rec.inputs === undefined ? '' : JSON.stringify(rec.inputs);
    if (inputs.length < INPUTS_APART) {
      this.write(key, rec);
      this.unlinkQuietly(`${key}.inputs`);
      return;
    }
    // the inputs first: a record is never there without them
    this.writeRaw(`${key}.inputs`, inputs);
    const { inputs: _i, ...rest } = rec;
    this.write(key, { ...rest, inputsFile: true });
  }

  /** Marks a record as used now (LRU order for `kiln prune --keep-storage/--filter until=`). */
  touch(key: string): void {
    const now = new Date();
    try {
      utimesSync(join(this.dir, `${key}.json`), now, now);
    } catch {
      /* removed meanwhile: nothing to keep fresh */
    }
  }

  /** When the record was last used (ms since epoch), undefined when it does not exist. */
  lastUsed(key: string): number | undefined {
    try {
      return statSync(join(this.dir, `${key}.json`)).mtimeMs;
    } catch {
      return undefined;
    }
  }

  remove(key: string): void {
    this.unlinkQuietly(`${key}.json`);
    this.unlinkQuietly(`${key}.inputs`);
  }

  /** Every record name (keys, `layer-*`, `chain-*`, `slot-*`, `srcd-*`). */
  names(): string[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    return names.filter((n) => n.endsWith('.json') && !n.startsWith('.')).map((n) => n.slice(0, -'.json'.length));
  }

  /** The slot name of a step position: (Dockerfile, stage, step index). */
  static slot(dockerfile: string, stage: string, index: number): string {
    return `slot-${cacheKey({ dockerfile, stage, index })}`;
  }

  /** The key the last build used in this slot. */
  getSlot(slot: string): string | undefined {
    return this.read<{ key?: string }>(slot)?.key;
  }

  putSlot(slot: string, key: string): void {
    if (this.getSlot(slot) !== key) this.write(slot, { key });
  }

  /** A digest remembered under `name` (e.g. of what a COPY reads from an immutable snapshot). */
  getValue(name: string): string | undefined {
    return this.read<{ value?: string }>(name)?.value;
  }

  putValue(name: string, value: string): void {
    this.write(name, { value });
  }
}
