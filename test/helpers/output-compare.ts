// What `build -o type=local|tar` and `--metadata-file` write, made comparable for the BuildKit
// differential test of outputs (test/conformance/outputs-diff.test.ts): a tar listed header by
// header with its raw fields and PAX records (its own reader, independent of kiln's), an exported
// directory as a tree-compare.ts Tree plus mtimes, and metadata JSON reduced to value shapes.
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { closeSync, lstatSync, openSync, readFileSync } from 'node:fs';
import { walkTree, type Tree } from './tree-compare.js';

/** One tar entry: every header field kiln and BuildKit could disagree on. */
export interface TarRow {
  name: string;
  /** The typeflag as a character ('0', '5', '2', '1', '6', '3', ...). */
  type: string;
  /** The whole mode field, octal (type bits would show). */
  mode: string;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  linkname: string;
  size: number;
  sha256?: string;
  mtime: number;
  dev?: string;
  /** 'ustar' (POSIX magic), 'gnu' or 'v7'. */
  format: string;
  /** Records of the entry's own PAX 'x' header; values as text, or hex: when not printable. */
  pax?: Record<string, string>;
}

export interface TarListing {
  readonly entries: TarRow[];
  /** What follows the last entry: "2 zero blocks + N bytes". */
  readonly end: string;
}

const cstr = (b: Buffer, off: number, len: number): Buffer => {
  const f = b.subarray(off, off + len);
  const nul = f.indexOf(0);
  return nul < 0 ? f : f.subarray(0, nul);
};

function num(b: Buffer, off: number, len: number): number {
  const f = b.subarray(off, off + len);
  if (f[0]! & 0x80) {
    let v = 0n;
    for (let i = 0; i < f.length; i++) v = (v << 8n) | BigInt(i === 0 ? f[i]! & 0x7f : f[i]!);
    return Number(v);
  }
  const s = f.toString('latin1').replace(/[\0 ]+$/, '').replace(/^ +/, '');
  return s === '' ? 0 : parseInt(s, 8);
}

function paxRecords(body: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  for (let pos = 0; pos < body.length && body[pos] !== 0; ) {
    const sp = body.indexOf(0x20, pos);
    const len = Number(body.toString('latin1', pos, sp));
    const rec = body.subarray(sp + 1, pos + len - 1);
    const eq = rec.indexOf(0x3d);
    const v = rec.subarray(eq + 1);
    out[rec.subarray(0, eq).toString('utf8')] = /^[\x20-\x7e]*$/.test(v.toString('latin1')) ? v.toString('latin1') : `hex:${v.toString('hex')}`;
    pos += len;
  }
  return out;
}

/** Lists a whole tar file (outputs of the test cases are small). */
export function listTar(file: string): TarListing {
  const buf = readFileSync(file);
  const entries: TarRow[] = [];
  let pos = 0;
  let pax: Record<string, string> | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  while (pos + 512 <= buf.length) {
    const h = buf.subarray(pos, pos + 512);
    if (h.every((x) => x === 0)) break;
    const size = num(h, 124, 12);
    const type = String.fromCharCode(h[156]!);
    const body = buf.subarray(pos + 512, pos + 512 + size);
    pos += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      pax = { ...pax, ...paxRecords(body) };
      continue;
    }
    if (type === 'L' || type === 'K') {
      const v = cstr(body, 0, body.length).toString('utf8');
      if (type === 'L') longName = v;
      else longLink = v;
      continue;
    }
    const magic = h.toString('latin1', 257, 265);
    const format = magic === 'ustar\x0000' ? 'ustar' : magic === 'ustar  \x00' ? 'gnu' : 'v7';
    const prefix = format === 'ustar' ? cstr(h, 345, 155).toString('utf8') : '';
    const base = cstr(h, 0, 100).toString('utf8');
    // PAX records override the header's fields (what a reader sees); the records are compared too
    const n = (k: string, v: number): number => (pax?.[k] !== undefined ? Number(pax[k]) : v);
    const row: TarRow = {
      name: pax?.['path'] ?? longName ?? (prefix ? `${prefix}/${base}` : base),
      type,
      mode: num(h, 100, 8).toString(8).padStart(4, '0'),
      uid: n('uid', num(h, 108, 8)),
      gid: n('gid', num(h, 116, 8)),
      uname: pax?.['uname'] ?? cstr(h, 265, 32).toString('utf8'),
      gname: pax?.['gname'] ?? cstr(h, 297, 32).toString('utf8'),
      linkname: pax?.['linkpath'] ?? longLink ?? cstr(h, 157, 100).toString('utf8'),
      size: n('size', size),
      mtime: Math.floor(n('mtime', num(h, 136, 12))),
      format,
    };
    if (type === '0' || type === '\0' || type === '7') row.sha256 = createHash('sha256').update(body).digest('hex');
    if (type === '3' || type === '4') row.dev = `${num(h, 329, 8)},${num(h, 337, 8)}`;
    if (pax) row.pax = pax;
    entries.push(row);
    pax = longName = longLink = undefined;
  }
  const rest = buf.subarray(pos);
  const zeroBlocks = Math.min(2, Math.floor(rest.length / 512));
  return { entries, end: `${zeroBlocks} zero blocks + ${rest.length - zeroBlocks * 512} bytes` };
}

const TIME_PAX = new Set(['mtime', 'atime', 'ctime']);

/** One line per differing mtime ("<path>: mtime docker X, kiln Y"), or one for all when many. */
function collapseMtimes(what: string, diffs: readonly [string, string][], total: number): string[] {
  if (diffs.length <= 5) return diffs.map(([p, d]) => `${what} ${p}: mtime ${d}`);
  return [`${what} mtime: ${diffs.length} of ${total} entries differ, first ${diffs[0]![0]}: ${diffs[0]![1]}`];
}

/**
 * Differences of two tar listings, one line each: names only in one, the order, every header
 * field and PAX record (mtimes, and PAX time records, only when `mtimes`).
 */
export function diffTarListings(a: TarListing, b: TarListing, labels: readonly [string, string], opts: { mtimes: boolean; what: string }): string[] {
  const [la, lb] = labels;
  const { what } = opts;
  const out: string[] = [];
  const times: [string, string][] = [];
  const ma = new Map(a.entries.map((e) => [e.name, e]));
  const mb = new Map(b.entries.map((e) => [e.name, e]));
  for (const e of a.entries) if (!mb.has(e.name)) out.push(`${what} ${e.name}: only in ${la}`);
  for (const e of b.entries) if (!ma.has(e.name)) out.push(`${what} ${e.name}: only in ${lb}`);
  const oa = a.entries.map((e) => e.name).filter((n) => mb.has(n));
  const ob = b.entries.map((e) => e.name).filter((n) => ma.has(n));
  const i = oa.findIndex((n, k) => n !== ob[k]);
  if (i >= 0) out.push(`${what} order: entry #${i} of the common ones is ${la} ${oa[i]}, ${lb} ${ob[i]}`);
  for (const [name, x] of ma) {
    const y = mb.get(name);
    if (!y) continue;
    for (const f of ['type', 'mode', 'uid', 'gid', 'uname', 'gname', 'linkname', 'size', 'sha256', 'dev', 'format', 'mtime'] as const) {
      const vx = JSON.stringify(x[f]);
      const vy = JSON.stringify(y[f]);
      if (vx === vy) continue;
      if (f === 'mtime') {
        if (opts.mtimes) times.push([name, `${la} ${vx}, ${lb} ${vy}`]);
      } else out.push(`${what} ${name}: ${f} ${la} ${vx ?? '(none)'}, ${lb} ${vy ?? '(none)'}`);
    }
    for (const k of [...new Set([...Object.keys(x.pax ?? {}), ...Object.keys(y.pax ?? {})])].sort()) {
      const vx = x.pax?.[k];
      const vy = y.pax?.[k];
      if (vx === vy || (TIME_PAX.has(k) && !opts.mtimes)) continue;
      out.push(`${what} ${name}: PAX ${k} ${la} ${vx === undefined ? '(none)' : JSON.stringify(vx)}, ${lb} ${vy === undefined ? '(none)' : JSON.stringify(vy)}`);
    }
  }
  if (a.end !== b.end) out.push(`${what} end: ${la} ${a.end}, ${lb} ${b.end}`);
  return [...out, ...collapseMtimes(what, times, ma.size)];
}

/** An exported directory: tree-compare's Tree, and each path's mtime ("seconds.nanoseconds"). */
export interface OutputTree {
  readonly tree: Tree;
  readonly mtimes: Record<string, string>;
}

export function walkOutput(dir: string): OutputTree {
  const tree = walkTree(dir);
  const mtimes: Record<string, string> = {};
  for (const p of Object.keys(tree)) {
    const ns = lstatSync(p === '/' ? dir : `${dir}${p}`, { bigint: true }).mtimeNs;
    mtimes[p] = `${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`;
  }
  return { tree, mtimes };
}

/** mtime differences of two exported trees (paths in both), `skip` left out, collapsed when many. */
export function diffMtimes(a: OutputTree, b: OutputTree, labels: readonly [string, string], what: string, skip: ReadonlySet<string>): string[] {
  const lines: [string, string][] = [];
  let total = 0;
  for (const [p, t] of Object.entries(a.mtimes)) {
    const u = b.mtimes[p];
    if (u === undefined || skip.has(p)) continue;
    total++;
    if (t !== u) lines.push([p, `${labels[0]} ${t}, ${labels[1]} ${u}`]);
  }
  return collapseMtimes(what, lines, total);
}

/** The shape of a metadata value: "digest" (sha256:<64 hex>), other strings, objects by key. */
export function shapeOf(v: unknown): unknown {
  if (typeof v === 'string') return /^sha256:[0-9a-f]{64}$/.test(v) ? 'digest' : 'string';
  if (Array.isArray(v)) return v.map(shapeOf);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).sort(([x], [y]) => (x < y ? -1 : 1)).map(([k, x]) => [k, shapeOf(x)]));
  return typeof v;
}

/**
 * Differences of two --metadata-file JSON objects: keys only in one (but `onlyInA`, which may be
 * missing from b), value shapes, and the values of `sameValue` keys.
 */
export function diffMetadata(
  a: Record<string, unknown>, b: Record<string, unknown>, labels: readonly [string, string],
  opts: { what: string; sameValue: readonly string[]; onlyInA: readonly string[] },
): string[] {
  const out: string[] = [];
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    if (!(k in b)) {
      if (!opts.onlyInA.includes(k)) out.push(`${opts.what} ${k}: only in ${labels[0]} (${JSON.stringify(a[k])})`);
      continue;
    }
    if (!(k in a)) {
      out.push(`${opts.what} ${k}: only in ${labels[1]} (${JSON.stringify(b[k])})`);
      continue;
    }
    const [sa, sb] = [JSON.stringify(shapeOf(a[k])), JSON.stringify(shapeOf(b[k]))];
    if (sa !== sb) out.push(`${opts.what} ${k}: shape ${labels[0]} ${sa}, ${labels[1]} ${sb}`);
    else if (opts.sameValue.includes(k) && JSON.stringify(a[k]) !== JSON.stringify(b[k])) {
      out.push(`${opts.what} ${k}: ${labels[0]} ${JSON.stringify(a[k])}, ${labels[1]} ${JSON.stringify(b[k])}`);
    }
  }
  return out;
}

/** Runs a command with its stdout into `file` (binary, e.g. `-o -`); resolves to its exit code and stderr. */
export function runToFile(cmd: string, args: readonly string[], file: string, env: NodeJS.ProcessEnv, cwd?: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const fd = openSync(file, 'w');
    const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', fd, 'pipe'] });
    closeSync(fd);
    const err: Buffer[] = [];
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}
