// Incremental context hashing (BuildKit contenthash style): a per-context table
// path → {size, mtime, ctime, inode, mode, owner} → content digest, kept in the state dir, so a
// rebuild re-reads only the files whose stat changed. A file changed within the last second
// before it was hashed is not remembered ("racily clean": a later write in the same timestamp
// tick would leave its stat unchanged).
//
// On disk: `<name>.json` (the whole table) plus `<name>.json.log`, one JSON line `[path, entry or
// null]` per change since. A build that changed a few entries appends them instead of rewriting
// 20k entries (~25-45 ms); the log is folded into the table once it passes COMPACT_LINES. Both
// are only a cache: a torn last line is skipped, a lost line costs one re-read.
//
// Next to the table: tree records (tree-records.ts), a COPY's digest by the signature of its inputs.
import { appendFileSync, lstatSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { RACY_NS, replaceFile, type FileStat } from '../support/index.js';
import { join, relative } from 'node:path';
import { createHash } from 'node:crypto';
import type { FileDigester } from './copy/index.js';
import { digestWithXattrs } from './step-inputs.js';
import { TreeRecords } from './tree-records.js';

/** Log lines that make the next save rewrite the table instead. */
const COMPACT_LINES = 2000;

interface Entry {
  /** size:mtimeNs:ctimeNs:ino:dev:mode:uid:gid */
  readonly s: string;
  /** hex sha256 of the content */
  readonly d: string;
}

export interface HashCounters {
  /** Files whose content was read (stat unknown or changed). */
  reads: number;
  /** Files whose digest came from the stat cache. */
  hits: number;
}

function statSig(st: FileStat): string {
  return `${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}:${st.dev}:${st.mode}:${st.uid}:${st.gid}`;
}

/**
 * The table: the parsed JSON object used as it is (copying 20k entries into a Map took ~10 ms of
 * a no-op rebuild), with this build's changes on top.
 */
class Table {
  private readonly changed = new Map<string, Entry | undefined>();
  constructor(private readonly parsed: Record<string, Entry> = Object.create(null) as Record<string, Entry>) {}
  get(k: string): Entry | undefined {
    return this.changed.has(k) ? this.changed.get(k) : Object.hasOwn(this.parsed, k) ? this.parsed[k] : undefined;
  }
  set(k: string, v: Entry): void {
    this.changed.set(k, v);
    this.fresh.set(k, v);
  }
  delete(k: string): void {
    this.changed.set(k, undefined);
    this.fresh.set(k, undefined);
  }
  /** Changes made by this process (not those loaded from the log). */
  readonly fresh = new Map<string, Entry | undefined>();
  /** Lines in the log when it was loaded. */
  logLines = 0;
  /** Applies the log written by earlier builds (not counted as this process's changes). */
  replay(log: string): void {
    for (const line of log.split('\n')) {
      if (line === '') continue;
      this.logLines++;
      try {
        const [k, v] = JSON.parse(line) as [unknown, unknown];
        if (typeof k !== 'string') continue;
        const e = v as Entry | null;
        if (e === null) this.changed.set(k, undefined);
        else if (typeof e?.s === 'string' && typeof e.d === 'string') this.changed.set(k, { s: e.s, d: e.d });
      } catch {
        /* a torn line (a crash mid-append): skipped */
      }
    }
  }
  /** Every live path (a snapshot: deleting while iterating is fine). */
  keys(): string[] {
    const out = Object.keys(this.parsed).filter((k) => !this.changed.has(k));
    for (const [k, v] of this.changed) if (v !== undefined) out.push(k);
    return out;
  }
  /** Every live entry (a snapshot: deleting while iterating is fine). */
  entries(): Array<[string, Entry]> {
    const out: Array<[string, Entry]> = [];
    for (const k of Object.keys(this.parsed)) if (!this.changed.has(k)) out.push([k, this.parsed[k]!]);
    for (const [k, v] of this.changed) if (v !== undefined) out.push([k, v]);
    return out;
  }
}

export class ContextStatCache {
  private readonly file: string;
  private entries: Table | undefined;
  private dirty = false;
  private readonly seen = new Set<string>();
  readonly counters: HashCounters = { reads: 0, hits: 0 };

  private readonly prefix: string;

  /** Digests of whole COPY requests by the signature of their inputs. */
  readonly trees: TreeRecords;

  constructor(stateDir: string, private readonly contextDir: string) {
    this.prefix = contextDir.endsWith('/') ? contextDir : `${contextDir}/`;
    const dir = join(stateDir, 'context-hash');
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, `${createHash('sha256').update(contextDir).digest('hex').slice(0, 32)}.json`);
    this.trees = new TreeRecords(this.file.slice(0, -'.json'.length));
  }

  private load(): Table {
    if (this.entries) return this.entries;
    this.entries = new Table();
    try {
      const obj = JSON.parse(readFileSync(this.file, 'utf8')) as { v?: number; files?: Record<string, Entry> };
      if (obj.v === 1 && obj.files && typeof obj.files === 'object') this.entries = new Table(obj.files);
    } catch {
      /* no table yet, or a broken one: start over */
    }
    try {
      this.entries.replay(readFileSync(`${this.file}.log`, 'utf8'));
    } catch {
      /* no log */
    }
    return this.entries;
  }

  /** A FileDigester for files under the context dir. */
  digester(): FileDigester {
    return (abs, st) => {
      // the walk hands over paths under the context dir: slicing is much cheaper than relative()
      const rel = abs.startsWith(this.prefix) ? abs.slice(this.prefix.length) : relative(this.contextDir, abs);
      const table = this.load();
      const sig = statSig(st);
      const e = table.get(rel);
      this.seen.add(rel);
      let d: string;
      if (e && e.s === sig) {
        this.counters.hits++;
        d = e.d;
      } else {
        this.counters.reads++;
        d = digestWithXattrs(abs, st); // COPY copies a context file's xattrs too
        const now = BigInt(Date.now()) * 1_000_000n;
        const newest = st.mtimeNs > st.ctimeNs ? st.mtimeNs : st.ctimeNs;
        // A racy file is not remembered. Its old entry (if any) stays: it can never match again
        // (the file's ctime moved on), and leaving it spares rewriting the whole table after a
        // build whose only change was a file just edited (~25 ms for 20k files).
        if (now - newest > RACY_NS) {
          table.set(rel, { s: sig, d });
          this.dirty = true;
        }
      }
      return d;
    };
  }

  /** Files whose digest came from a tree record: still in the context, so save() keeps them. */
  markSeen(rels: Iterable<string>): void {
    for (const rel of rels) this.seen.add(rel);
  }

  /** Writes the table (and the small tree records) back (atomically) when they changed. */
  save(): void {
    this.trees.save();
    if (!this.entries) return;
    // forget files that are gone (entries of files this build did not read may serve another Dockerfile)
    for (const rel of this.entries.keys()) {
      if (this.seen.has(rel)) continue;
      try {
        lstatSync(join(this.contextDir, rel));
      } catch {
        this.entries.delete(rel);
        this.dirty = true;
      }
    }
    if (!this.dirty) return;
    const fresh = this.entries.fresh;
    if (this.entries.logLines + fresh.size <= COMPACT_LINES) {
      // one write: appends of concurrent builds do not interleave
      let lines = '';
      for (const [k, v] of fresh) lines += JSON.stringify([k, v ?? null]) + '\n';
      appendFileSync(`${this.file}.log`, lines);
      this.entries.logLines += fresh.size;
    } else {
      const files = Object.create(null) as Record<string, Entry>; // a file may be named __proto__
      for (const [k, v] of this.entries.entries()) files[k] = v;
      replaceFile(this.file, JSON.stringify({ v: 1, files }));
      rmSync(`${this.file}.log`, { force: true });
      this.entries.logLines = 0;
    }
    fresh.clear();
    this.dirty = false;
  }
}
