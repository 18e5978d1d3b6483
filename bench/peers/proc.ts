// Runs one builder command, timing it and sampling the peak memory of the builder's process tree.
//
// Memory method: every SAMPLE_MS the sampler reads /proc/<pid>/stat (ppid) of every process,
// takes the tree below the root pids (the builder's client process, plus the daemons of a
// daemon-based builder and any process whose command line names the daemon's private state
// dir, e.g. containerd-shims that re-parent to init), and sums their resident set sizes from
// /proc/<pid>/statm. The peak of that sum is reported. RSS sums count shared pages (libraries,
// page-cache-backed mappings) once per process, so they overstate a little; the RUN commands'
// own processes are in the tree for every builder (runc children of the builder, or of the
// containerd-shim for docker), so the comparison stays fair. Sampling can miss spikes shorter
// than SAMPLE_MS.
import { spawn } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';

const SAMPLE_MS = 100;
const PAGE = 4096;

export interface MeasureOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** File that gets the command's stdout+stderr, each line prefixed with seconds since start. */
  readonly log?: string;
  /** Extra root pids whose trees count (a daemon the client talks to). */
  readonly daemonPids?: () => readonly number[];
  /** Processes whose command line contains this string count too (with their trees). */
  readonly cmdlineMark?: string;
  readonly timeoutMs?: number;
}

export interface Measured {
  readonly seconds: number;
  readonly code: number | null;
  readonly peakRssBytes: number;
  /** The command's output with the timestamp prefixes (what went to the log). */
  readonly output: string;
}

interface ProcInfo {
  readonly ppid: number;
  readonly rss: number;
}

const markCache = new Map<string, boolean>();

function snapshot(mark: string | undefined): { procs: Map<number, ProcInfo>; marked: number[] } {
  const procs = new Map<number, ProcInfo>();
  const marked: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      // comm may contain spaces and parentheses: fields start after the last ')'
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(rest[1]);
      const startTime = rest[19] ?? '';
      const statm = readFileSync(`/proc/${pid}/statm`, 'latin1').split(' ');
      procs.set(pid, { ppid, rss: Number(statm[1] ?? 0) * PAGE });
      if (mark !== undefined) {
        const key = `${pid}:${startTime}`;
        let hit = markCache.get(key);
        if (hit === undefined) {
          hit = readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(mark);
          markCache.set(key, hit);
        }
        if (hit) marked.push(pid);
      }
    } catch {
      // the process exited between readdir and read
    }
  }
  return { procs, marked };
}

/** Sum of RSS over the trees below `roots` (each process counted once). */
export function treeRss(roots: readonly number[], mark?: string): number {
  const { procs, marked } = snapshot(mark);
  const children = new Map<number, number[]>();
  for (const [pid, p] of procs) {
    const list = children.get(p.ppid);
    if (list) list.push(pid);
    else children.set(p.ppid, [pid]);
  }
  const seen = new Set<number>();
  const stack = [...roots, ...marked];
  let sum = 0;
  while (stack.length > 0) {
    const pid = stack.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    const p = procs.get(pid);
    if (p === undefined) continue;
    sum += p.rss;
    for (const c of children.get(pid) ?? []) stack.push(c);
  }
  return sum;
}

export function runMeasured(cmd: string, args: readonly string[], opts: MeasureOptions = {}): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const since = () => Number(process.hrtime.bigint() - t0) / 1e9;
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const log = opts.log !== undefined ? createWriteStream(opts.log) : undefined;
    let output = '';
    let partial = '';
    const onData = (b: Buffer) => {
      const text = partial + b.toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      const stamp = since().toFixed(3);
      for (const l of lines) {
        const line = `${stamp} ${l}\n`;
        output += line;
        log?.write(line);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    let peak = 0;
    const sample = () => {
      if (child.pid === undefined) return;
      const roots = [child.pid, ...(opts.daemonPids?.() ?? [])];
      peak = Math.max(peak, treeRss(roots, opts.cmdlineMark));
    };
    const first = setTimeout(sample, 20); // builds shorter than SAMPLE_MS still get a sample
    const timer = setInterval(sample, SAMPLE_MS);
    const killer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 900_000);
    child.on('error', (e) => {
      clearTimeout(first);
      clearInterval(timer);
      clearTimeout(killer);
      reject(e);
    });
    child.on('close', (code) => {
      const seconds = since();
      clearTimeout(first);
      clearInterval(timer);
      clearTimeout(killer);
      if (partial !== '') onData(Buffer.from('\n'));
      const result = { seconds, code, peakRssBytes: peak, output };
      // resolve once the log file is complete (callers may read or remove its directory next)
      if (log) log.end(() => resolve(result));
      else resolve(result);
    });
  });
}

/** Runs a command untimed; resolves with its output, rejects on a non-zero exit. */
export function runOk(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: [opts.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString('utf8')));
    child.stderr!.on('data', (b: Buffer) => (err += b.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${(err || out).trim().split('\n').slice(-5).join(' | ')}`));
    });
    if (opts.input !== undefined && child.stdin) {
      child.stdin.on('error', () => {});
      child.stdin.end(opts.input);
    }
  });
}

/** Like runOk but never rejects: { code, out }. */
export function runAny(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (out += b.toString('utf8')));
    child.on('error', (e) => resolve({ code: -1, out: e.message }));
    child.on('close', (code) => resolve({ code, out }));
  });
}

/**
 * How to start kiln: `bin/kiln` (the command npm installs, a launcher) runs as it is; a `.js` entry
 * (KILN_BENCH_KILN=…/bin/kiln.js) runs under this node.
 */
export function kilnCommand(bin: string, args: readonly string[]): [string, string[]] {
  return bin.endsWith('.js') ? [process.execPath, [bin, ...args]] : [bin, [...args]];
}
