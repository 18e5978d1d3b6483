// Runs the real CLI as a child process: bin/kiln, the command npm installs (a launcher that runs
// bin/kiln.js on the compiled dist/), or with `bin` another copy (a .js file runs under this node).
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const PROJECT_ROOT = new URL('../../../', import.meta.url).pathname;
export const KILN_BIN = join(PROJECT_ROOT, 'bin', 'kiln');

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runKiln(
  args: readonly string[],
  opts: { env?: Record<string, string | undefined>; cwd?: string; input?: string | Buffer; timeoutMs?: number; bin?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const bin = opts.bin ?? KILN_BIN;
    const [cmd, argv] = bin.endsWith('.js') ? [process.execPath, [bin, ...args]] : [bin, args];
    const child = spawn(cmd, argv, {
      cwd: opts.cwd ?? PROJECT_ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => undefined); // kiln may stop reading (and exit) before all input is written
    child.stdin.end(opts.input ?? '');
  });
}
