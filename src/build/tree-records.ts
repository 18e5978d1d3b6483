// Tree records: the digest of a whole COPY request from the context, kept with the signature of
// the inputs it was computed from (copy/signature.ts) and the files it read (`rel` ->
// `mode:digest`, as step-inputs.ts records them). A build whose inputs have the same signature
// takes that digest as it is (docs/design/build-cache.md). Beside the stat table of the context:
//
// - `<base>.tree-<request>.json`: one file per big request (a header line, then the file list:
//   ~2 MB for 20k files), at most MAX_BIG, the least recently used dropped first;
// - `<base>.small.json`: every small request in one file, read once per build. A COPY of one
//   file otherwise loaded the whole stat table (~3 MB for a 20k-file context) to look up that
//   one file. At most MAX_SMALL; the least recently used go first.
//
// Only a cache: a broken or missing record is a miss, and writes are atomic (tmp + rename).
// Concurrent builds may drop each other's small records; that costs a look-up, never a wrong
// digest, as a record answers only for its exact signature.
import { readdirSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

import { replaceFile } from '../support/index.js';

const MAX_BIG = 16;
const MAX_SMALL = 512;

export interface TreeRecord {
  readonly digest: string;
  readonly files: Readonly<Record<string, string>>;
}

interface SmallRecord extends TreeRecord {
  readonly sig: string;
  /** Last use, ms since the epoch. */
  t: number;
}

function isFileList(v: unknown): v is Record<string, string> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function writeAtomic(file: string, text: string): void {
  try {
    replaceFile(file, text);
  } catch {
    /* the next build computes the digest again */
  }
}

export class TreeRecords {
  private small: Record<string, SmallRecord> | undefined;
  private smallDirty = false;

  /** `base`: the stat table's path without `.json`. */
  constructor(private readonly base: string) {}

  private bigFile(key: string): string {
    return `${this.base}.tree-${key}.json`;
  }

  private smallRecords(): Record<string, SmallRecord> {
    if (this.small) return this.small;
    this.small = Object.create(null) as Record<string, SmallRecord>;
    try {
      const parsed = JSON.parse(readFileSync(`${this.base}.small.json`, 'utf8')) as { v?: unknown; trees?: unknown };
      if (parsed.v === 1 && isFileList(parsed.trees)) Object.assign(this.small, parsed.trees);
    } catch {
      /* none yet, or broken: start over */
    }
    return this.small;
  }

  /** The record of request `key` if it was stored for signature `sig`. */
  get(key: string, sig: string, big: boolean): TreeRecord | undefined {
    if (!big) {
      const r = this.smallRecords()[key];
      if (r === undefined || r.sig !== sig || typeof r.digest !== 'string' || !isFileList(r.files)) return undefined;
      // LRU to the hour: a no-op build need not rewrite the file
      if (Date.now() - r.t > 3_600_000) {
        r.t = Date.now();
        this.smallDirty = true;
      }
      return r;
    }
    let text: string;
    try {
      text = readFileSync(this.bigFile(key), 'utf8');
    } catch {
      return undefined;
    }
    const nl = text.indexOf('\n');
    if (nl < 0) return undefined;
    try {
      const head = JSON.parse(text.slice(0, nl)) as { v?: unknown; sig?: unknown; digest?: unknown };
      if (head.v !== 1 || head.sig !== sig || typeof head.digest !== 'string') return undefined;
      const files = JSON.parse(text.slice(nl + 1)) as unknown;
      if (!isFileList(files)) return undefined;
      const now = new Date();
      utimesSync(this.bigFile(key), now, now); // in use: the last to be dropped
      return { digest: head.digest, files };
    } catch {
      return undefined;
    }
  }

  /** Stores what `get(key, sig, big)` returns later. */
  put(key: string, sig: string, digest: string, files: ReadonlyMap<string, string>, big: boolean): void {
    const list = Object.create(null) as Record<string, string>; // a file may be named __proto__
    for (const [k, v] of files) list[k] = v;
    if (!big) {
      this.smallRecords()[key] = { sig, digest, files: list, t: Date.now() };
      this.smallDirty = true;
      return;
    }
    writeAtomic(this.bigFile(key), `${JSON.stringify({ v: 1, sig, digest })}\n${JSON.stringify(list)}`);
    this.dropOldBig();
  }

  /** Writes the small records back when this build used or changed them. */
  save(): void {
    if (!this.small || !this.smallDirty) return;
    let entries = Object.entries(this.small);
    if (entries.length > MAX_SMALL) entries = entries.sort((a, b) => b[1].t - a[1].t).slice(0, MAX_SMALL);
    const trees = Object.create(null) as Record<string, SmallRecord>;
    for (const [k, v] of entries) trees[k] = v;
    writeAtomic(`${this.base}.small.json`, JSON.stringify({ v: 1, trees }));
    this.smallDirty = false;
  }

  private dropOldBig(): void {
    const dir = dirname(this.base);
    const prefix = `${basename(this.base)}.tree-`;
    let names: string[];
    try {
      names = readdirSync(dir).filter((n) => n.startsWith(prefix) && n.endsWith('.json'));
    } catch {
      return;
    }
    if (names.length <= MAX_BIG) return;
    const aged = names.map((n) => ({ n, t: statSync(join(dir, n), { throwIfNoEntry: false })?.mtimeMs ?? 0 })).sort((a, b) => b.t - a.t);
    for (const { n } of aged.slice(MAX_BIG)) rmSync(join(dir, n), { force: true });
  }
}
