// Spawning child processes: argv only (never a shell), explicit env and cwd, streamed output,
// a bounded tail of what the child printed (for error messages), abort with SIGTERM then
// SIGKILL, and a registry of live children so an exit handler can kill them.
import { spawn as nodeSpawn, spawnSync, type ChildProcess } from 'node:child_process';

/** Keeps the last `maxBytes` bytes (and at most `maxLines` lines) of a byte stream. */
export class Tail {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(
    readonly maxBytes = 16 * 1024,
    readonly maxLines = 40,
  ) {}

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.chunks.length > 1 && this.size - this.chunks[0]!.length >= this.maxBytes) {
      this.size -= this.chunks.shift()!.length;
    }
  }

  /** The kept text: whole lines where possible, at most maxLines of them. */
  text(): string {
    let buf = Buffer.concat(this.chunks);
    if (buf.length > this.maxBytes) {
      buf = buf.subarray(buf.length - this.maxBytes);
      const nl = buf.indexOf(0x0a);
      if (nl >= 0 && nl < buf.length - 1) buf = buf.subarray(nl + 1); // drop the partial first line
      else buf = buf.subarray(utf8Start(buf)); // one long line: at least start on a whole character
    }
    const s = buf.toString('utf8');
    const lines = s.split('\n');
    const trailing = lines[lines.length - 1] === '' ? 1 : 0;
    if (lines.length - trailing <= this.maxLines) return s;
    return lines.slice(lines.length - trailing - this.maxLines).join('\n');
  }
}

/** How many UTF-8 continuation bytes (at most 3) `b` starts with. */
function utf8Start(b: Buffer): number {
  let i = 0;
  while (i < 3 && i < b.length && (b[i]! & 0xc0) === 0x80) i++;
  return i;
}

export interface SpawnOptions {
  /** The complete environment of the child (nothing is inherited when given). Default: process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Working directory. Default: process.cwd(). */
  readonly cwd?: string;
  /** What the child reads: nothing (/dev/null, the default), or these bytes. */
  readonly input?: Buffer | string;
  /**
   * 'stdin': the child reads our stdin; 'all': it uses our stdin, stdout and stderr themselves (a
   * terminal it drives; nothing is captured, the tails stay empty).
   */
  readonly inherit?: 'stdin' | 'all';
  readonly onStdout?: (chunk: Buffer) => void;
  readonly onStderr?: (chunk: Buffer) => void;
  /** On abort: SIGTERM, then SIGKILL after `killGraceMs`. */
  readonly signal?: AbortSignal;
  /** Default 3000 ms. */
  readonly killGraceMs?: number;
  /** Size of the kept output tails. Defaults: 16 KiB, 40 lines. */
  readonly tailBytes?: number;
  readonly tailLines?: number;
}

export interface SpawnResult {
  /** Exit code, or null when the child was killed by a signal. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** True when `signal` aborted before the child exited. */
  readonly aborted: boolean;
  readonly stdoutTail: string;
  readonly stderrTail: string;
  /** stdout and stderr interleaved in arrival order. */
  readonly outputTail: string;
}

const live = new Set<ChildProcess>();

/** Pids of children started through spawn() that have not exited yet. */
export function liveChildPids(): number[] {
  return [...live].map((c) => c.pid).filter((p): p is number => p !== undefined);
}

/** Sends `sig` to every live child (synchronous; safe inside a process 'exit' handler). */
export function killLiveChildren(sig: NodeJS.Signals = 'SIGKILL'): void {
  for (const c of live) {
    try {
      c.kill(sig);
    } catch {
      /* already gone */
    }
  }
}

let exitHandlerInstalled = false;
/** Installs (once) a process 'exit' handler that SIGKILLs children still running. */
export function killChildrenOnExit(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  process.on('exit', () => killLiveChildren('SIGKILL'));
}

/**
 * Runs `cmd` with `argv` (no shell) and resolves when it has exited and its output is drained.
 * Rejects only when the process cannot be started (e.g. ENOENT); a non-zero exit resolves.
 */
export function spawn(cmd: string, argv: readonly string[], opts: SpawnOptions = {}): Promise<SpawnResult> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) {
      resolve({ code: null, signal: null, aborted: true, stdoutTail: '', stderrTail: '', outputTail: '' });
      return;
    }
    const outTail = new Tail(opts.tailBytes, opts.tailLines);
    const errTail = new Tail(opts.tailBytes, opts.tailLines);
    const allTail = new Tail(opts.tailBytes, opts.tailLines);
    let child: ChildProcess;
    try {
      child = nodeSpawn(cmd, argv as string[], {
        cwd: opts.cwd,
        env: (opts.env ?? process.env) as NodeJS.ProcessEnv,
        stdio: opts.inherit === 'all' ? 'inherit' : [opts.inherit === 'stdin' ? 'inherit' : opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        shell: false,
      });
    } catch (e) {
      reject(e);
      return;
    }
    live.add(child);
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      aborted = true;
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), opts.killGraceMs ?? 3000);
      killTimer.unref();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout?.on('data', (b: Buffer) => {
      outTail.push(b);
      allTail.push(b);
      opts.onStdout?.(b);
    });
    child.stderr?.on('data', (b: Buffer) => {
      errTail.push(b);
      allTail.push(b);
      opts.onStderr?.(b);
    });
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => {
        /* the child may exit without reading its input */
      });
      child.stdin!.end(opts.input);
    }
    let settled = false;
    const finish = (): void => {
      live.delete(child);
      if (killTimer) clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', (e) => {
      finish();
      if (!settled) {
        settled = true;
        reject(e);
      }
    });
    // 'close' fires after the process exited AND its stdio streams closed.
    child.on('close', (code, sig) => {
      finish();
      if (settled) return;
      settled = true;
      resolve({
        code,
        signal: sig,
        aborted,
        stdoutTail: outTail.text(),
        stderrTail: errTail.text(),
        outputTail: allTail.text(),
      });
    });
  });
}

/** Error thrown by output(): carries the exit status and the stderr tail. */
export class CommandFailedError extends Error {
  constructor(
    readonly cmd: string,
    readonly argv: readonly string[],
    readonly result: SpawnResult,
  ) {
    const status = result.code !== null ? `exit code ${result.code}` : `signal ${result.signal ?? '?'}`;
    const tail = result.stderrTail.trim() || result.stdoutTail.trim();
    super(`${cmd} ${argv.join(' ')} failed (${status})${tail ? `: ${tail}` : ''}`);
    this.name = 'CommandFailedError';
  }
}

/** Runs a command and returns its whole stdout; throws CommandFailedError on a non-zero exit. */
export async function output(cmd: string, argv: readonly string[], opts: SpawnOptions = {}): Promise<string> {
  const chunks: Buffer[] = [];
  const r = await spawn(cmd, argv, {
    ...opts,
    onStdout: (b) => {
      chunks.push(b);
      opts.onStdout?.(b);
    },
  });
  if (r.code !== 0) throw new CommandFailedError(cmd, argv, r);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Synchronous variant for cleanup paths that cannot await (exit handlers). Returns the exit code
 * (null when it could not run or was killed).
 */
export function runSync(cmd: string, argv: readonly string[], opts: { cwd?: string; timeoutMs?: number } = {}): number | null {
  const r = spawnSync(cmd, argv as string[], { cwd: opts.cwd, stdio: 'ignore', timeout: opts.timeoutMs ?? 10_000, shell: false });
  return r.error ? null : r.status;
}

/** Whether a process with this pid exists (EPERM: it exists but is not ours). */
export function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
