// Incremental context hashing (BuildKit contenthash style): a per-context table
// path → {size, mtime, ctime, inode, mode, owner} → content digest, kept in the state dir, so a
// rebuild re-reads only the files whose stat changed. A file changed within the last second
// before it was hashed is not remembered ("racily clean": a later write in the same timestamp
// tick would leave its stat unchanged).
import { lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync, type BigIntStats } from 'node:fs';
import { join, relative } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { digestFile, type FileDigester } from './copy/index.js';

const RACY_NS = 1_000_000_000n;

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

function statSig(st: BigIntStats): string {
  return `${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}:${st.dev}:${st.mode}:${st.uid}:${st.gid}`;
}

export class ContextStatCache {
  private readonly file: string;
  private entries: Map<string, Entry> | undefined;
  private dirty = false;
  private readonly seen = new Set<string>();
  readonly counters: HashCounters = { reads: 0, hits: 0 };

  constructor(stateDir: string, private readonly contextDir: string) {
    const dir = join(stateDir, 'context-hash');
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, `${createHash('sha256').update(contextDir).digest('hex').slice(0, 32)}.json`);
  }

  private load(): Map<string, Entry> {
    if (this.entries) return this.entries;
    this.entries = new Map();
    try {
      const obj = JSON.parse(readFileSync(this.file, 'utf8')) as { v?: number; files?: Record<string, Entry> };
      if (obj.v === 1 && obj.files) for (const [k, v] of Object.entries(obj.files)) this.entries.set(k, v);
    } catch {
      /* no table yet, or a broken one: start over */
    }
    return this.entries;
  }

  /** A FileDigester for files under the context dir. */
  digester(): FileDigester {
    return (abs, st) => {
      const rel = relative(this.contextDir, abs);
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
        d = digestFile(abs, st);
        const now = BigInt(Date.now()) * 1_000_000n;
        const newest = st.mtimeNs > st.ctimeNs ? st.mtimeNs : st.ctimeNs;
        if (now - newest > RACY_NS) {
          table.set(rel, { s: sig, d });
          this.dirty = true;
        } else if (e) {
          table.delete(rel);
          this.dirty = true;
        }
      }
      return d;
    };
  }

  /** Writes the table back (atomically) when it changed. */
  save(): void {
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
    const files: Record<string, Entry> = {};
    for (const [k, v] of this.entries) files[k] = v;
    const tmp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(tmp, JSON.stringify({ v: 1, files }));
    renameSync(tmp, this.file);
    this.dirty = false;
  }
}
