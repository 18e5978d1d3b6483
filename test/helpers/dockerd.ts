// A private Docker 26 engine for tests: the reference builder kiln's output is compared with.
// Each startDockerd() runs its own /usr/sbin/dockerd (and the containerd it manages) with a
// data-root, exec-root, pidfile, config file and unix socket under a fresh temp dir, so tests
// (and parallel test files) never share state with each other or with a system dockerd.
// No iptables, no bridge (`--network none` / `--network host` only). Install the engine as
// root with `bash scripts/install-modern-docker.sh` (ensure-deps.sh does it).
//
// Always /usr/bin/docker: /usr/local/bin/docker on this machine image is another client
// (no buildx), and it comes first in PATH.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, type TestContext } from 'node:test';
import { needCommand, needRoot, prereq } from './prereq.js';

export const DOCKERD_BIN = '/usr/sbin/dockerd';
export const DOCKER_BIN = '/usr/bin/docker';

export interface DockerResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface DockerOptions {
  readonly input?: string | Buffer;
  readonly env?: Record<string, string | undefined>;
  readonly cwd?: string;
  readonly timeoutMs?: number;
}

export interface Dockerd {
  /** Temp dir holding everything of this engine (data-root, exec-root, socket, log). */
  readonly dir: string;
  /** unix:///…/docker.sock — the value for `docker -H` / DOCKER_HOST. */
  readonly host: string;
  readonly pid: number;
  /** Runs `/usr/bin/docker -H <this engine> ...args` (no shell) and collects its output. */
  docker(args: readonly string[], opts?: DockerOptions): Promise<DockerResult>;
  /** Like docker(), but throws with the output when the exit code is not 0. */
  dockerOk(args: readonly string[], opts?: DockerOptions): Promise<DockerResult>;
  /** The daemon's log so far (for assertion messages). */
  log(): string;
  /** Stops dockerd and its containerd, unmounts what they left, removes the temp dir. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Port of a registry on 127.0.0.1 to allow over plain HTTP (--insecure-registry). */
  readonly insecureRegistryPort?: number;
  /** How long to wait for `docker info` to answer (default 60 s). */
  readonly readyTimeoutMs?: number;
  readonly extraArgs?: readonly string[];
}

/**
 * Checks the prerequisites of a private dockerd (root, the binaries, Docker 26+). Skips the
 * test locally, fails it under CI=true (test/helpers/prereq.ts).
 */
export function needDockerd(t: TestContext): boolean {
  if (!needRoot(t)) return false;
  if (needCommand(t, DOCKERD_BIN) === undefined || needCommand(t, DOCKER_BIN) === undefined) return false;
  const v = spawnSync(DOCKER_BIN, ['--version'], { encoding: 'utf8' });
  const major = Number(/version (\d+)\./.exec(v.stdout ?? '')?.[1] ?? 0);
  return prereq(t, major >= 26, `Docker >= 26 at ${DOCKER_BIN} (run as root: bash scripts/install-modern-docker.sh)`);
}

function runDocker(host: string, configDir: string, args: readonly string[], opts: DockerOptions = {}): Promise<DockerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(DOCKER_BIN, ['-H', host, ...args], {
      cwd: opts.cwd,
      // a private client config: no credential helpers or contexts from ~/.docker
      env: { ...process.env, DOCKER_CONFIG: configDir, DOCKER_HOST: undefined, DOCKER_CONTEXT: undefined, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => undefined); // docker may exit before it reads its input (EPIPE)
    child.stdin.end(opts.input);
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (!alive(pid)) return true;
    await sleep(100);
  }
  return !alive(pid);
}

function readPid(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Mount points at or below dir (deepest first), from /proc/self/mountinfo. */
function mountsUnder(dir: string): string[] {
  const lines = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  const points: string[] = [];
  for (const line of lines) {
    const mp = line.split(' ')[4];
    if (mp === undefined) continue;
    const p = mp.replace(/\\(\d{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (p === dir || p.startsWith(dir + '/')) points.push(p);
  }
  return points.sort((a, b) => b.length - a.length);
}

export async function startDockerd(opts: StartOptions = {}): Promise<Dockerd> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-dockerd-'));
  const sock = join(dir, 'docker.sock');
  const host = `unix://${sock}`;
  const configDir = join(dir, 'client-config');
  const dataRoot = join(dir, 'data');
  const execRoot = join(dir, 'exec');
  const pidFile = join(dir, 'dockerd.pid');
  const logFile = join(dir, 'dockerd.log');
  for (const d of [configDir, dataRoot, execRoot]) mkdirSync(d, { recursive: true });
  writeFileSync(join(dir, 'daemon.json'), '{}\n'); // never the machine's /etc/docker/daemon.json
  const args = [
    '--config-file', join(dir, 'daemon.json'),
    '--data-root', dataRoot,
    '--exec-root', execRoot,
    '--pidfile', pidFile,
    '-H', host,
    '--iptables=false',
    '--ip-masq=false',
    '--bridge=none',
    '--storage-driver=overlay2',
    ...(opts.insecureRegistryPort !== undefined ? ['--insecure-registry', `127.0.0.1:${opts.insecureRegistryPort}`] : []),
    ...(opts.extraArgs ?? []),
  ];
  const logFd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(DOCKERD_BIN, args, { stdio: ['ignore', logFd, logFd], env: { ...process.env, DOCKER_HOST: undefined } });
  } finally {
    closeSync(logFd);
  }
  let exited: string | undefined;
  child.on('exit', (code, signal) => {
    exited = `dockerd exited (code ${code}, signal ${signal})`;
  });
  child.on('error', (e) => {
    exited = `dockerd failed to start: ${e.message}`;
  });
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    const pid = child.pid;
    // dockerd's managed containerd writes its pid here; it must not outlive the test
    const containerdPid = readPid(join(execRoot, 'containerd', 'containerd.pid'));
    if (pid !== undefined && exited === undefined && alive(pid)) {
      child.kill('SIGTERM');
      if (!(await waitGone(pid, 20_000))) {
        child.kill('SIGKILL');
        await waitGone(pid, 5_000);
      }
    }
    if (containerdPid !== undefined && alive(containerdPid)) {
      process.kill(containerdPid, 'SIGTERM');
      if (!(await waitGone(containerdPid, 10_000))) process.kill(containerdPid, 'SIGKILL');
    }
    for (const mp of mountsUnder(dir)) spawnSync('umount', ['-l', mp]);
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (exited !== undefined) {
      const tail = log().split('\n').slice(-20).join('\n');
      await stop();
      throw new Error(`${exited} before it answered; log tail:\n${tail}`);
    }
    if (existsSync(sock)) {
      const r = await runDocker(host, configDir, ['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 10_000 });
      if (r.code === 0) break;
    }
    if (Date.now() > deadline) {
      const tail = log().split('\n').slice(-20).join('\n');
      await stop();
      throw new Error(`dockerd did not answer within ${opts.readyTimeoutMs ?? 60_000} ms; log tail:\n${tail}`);
    }
    await sleep(200);
  }

  const docker = (a: readonly string[], o?: DockerOptions) => runDocker(host, configDir, a, o);
  return {
    dir,
    host,
    pid: child.pid ?? -1,
    docker,
    async dockerOk(a, o) {
      const r = await docker(a, o);
      if (r.code !== 0) {
        throw new Error(`docker ${a.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
      }
      return r;
    },
    log,
    stop,
  };
}

/**
 * One private dockerd for a whole test file: started in before() when dockerd exists and kiln
 * runs as root, stopped in after(). `engine(t)` gives it to a test, or fails the test when it
 * could not start (a missing prerequisite is needDockerd's: a failure under CI=true).
 */
export function fileDockerd(): { engine(t: TestContext): Dockerd | undefined } {
  let dockerd: Dockerd | undefined;
  let startError: unknown;
  before(async () => {
    try {
      const probe = spawnSync(DOCKERD_BIN, ['--version']);
      if (probe.status === 0 && process.getuid?.() === 0) dockerd = await startDockerd();
    } catch (e: unknown) {
      startError = e;
    }
  });
  after(async () => {
    await dockerd?.stop();
  });
  return {
    engine(t: TestContext): Dockerd | undefined {
      if (!needDockerd(t)) return undefined;
      if (startError) throw startError;
      return prereq(t, dockerd !== undefined, 'a running private dockerd') ? dockerd : undefined;
    },
  };
}
