// Running one process in a prepared rootfs with runc: write a bundle (config.json + the per-run
// /etc/hosts and /etc/resolv.conf), `runc run` it in the foreground with piped stdio, stream the
// output, turn a non-zero exit into RUN_FAILED, and on abort kill and delete the container.
// Container state lives under `<stateDir>/runc` (runc --root), bundles under `<stateDir>/bundles`.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { KilnError, shortenText } from '../errors.js';
import { output, pidAlive, removeTree, runSync, spawn, type SpawnResult } from '../support/index.js';
import { DEFAULT_HOSTNAME, argListTooLongHint, runtimeStartHint, buildOciConfig, cgroupsPathFor, ociConfigJson, hostsFile, resolvConfFile, type ProcessSpec } from './spec.js';
import { recordMountStubs } from './stubs.js';

export interface RunIO {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /**
   * `kiln run -i`: the process reads kiln's stdin ('stdin'); `-t`: it runs on kiln's terminal
   * ('terminal': runc drives it, with the spec's process.terminal set; stdout/stderr are unused).
   */
  readonly attach?: 'stdin' | 'terminal';
}

/** Run one process in a prepared rootfs (see docs/design/layout.md §6.4). */
export interface Runtime {
  /** Resolves with 0; a non-zero exit throws RUN_FAILED (exitCode, outputTail); abort throws ABORTED. */
  run(spec: ProcessSpec, rootfs: string, io: RunIO, signal: AbortSignal): Promise<number>;
}

export interface RuncRuntimeOptions {
  /** Absolute path of the runc binary (see findRuntime). */
  readonly runtimePath: string;
  /** kiln's state dir; runc state goes to `<stateDir>/runc`, bundles to `<stateDir>/bundles`. */
  readonly stateDir: string;
  /** Where the host's resolver config is read from. Default /etc/resolv.conf. */
  readonly hostResolvConf?: string;
  /** Environment for runc itself. Default: PATH only. */
  readonly env?: Readonly<Record<string, string>>;
}

let counter = 0;
/** A container id unique across concurrent kiln processes and runs. */
export function newContainerId(): string {
  counter += 1;
  return `kiln-${process.pid}-${counter}-${randomBytes(4).toString('hex')}`;
}

export class RuncRuntime implements Runtime {
  readonly runcRoot: string;
  readonly bundlesDir: string;
  private readonly runtimePath: string;
  private readonly hostResolvConf: string;
  private readonly env: Readonly<Record<string, string>>;
  /** Containers of this instance that may be running (for killAllSync). */
  private readonly live = new Set<string>();
  private exitHook = false;

  constructor(opts: RuncRuntimeOptions) {
    this.runtimePath = opts.runtimePath;
    this.runcRoot = join(resolve(opts.stateDir), 'runc');
    this.bundlesDir = join(resolve(opts.stateDir), 'bundles');
    this.hostResolvConf = opts.hostResolvConf ?? '/etc/resolv.conf';
    this.env = opts.env ?? { PATH: process.env['PATH'] ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };
  }

  private runc(args: readonly string[], signal?: AbortSignal): Promise<SpawnResult> {
    return spawn(this.runtimePath, ['--root', this.runcRoot, ...args], { env: this.env, signal });
  }

  async run(spec: ProcessSpec, rootfs: string, io: RunIO, signal: AbortSignal): Promise<number> {
    if (signal.aborted) throw new KilnError('ABORTED', 'RUN aborted before it started');
    // runc as another user is rootless runc, which needs a user namespace set up for it (kiln
    // does not do that): say so instead of reporting runc's own failure as the command's exit code
    if (typeof process.geteuid === 'function' && process.geteuid() !== 0) {
      throw new KilnError('RUNTIME_UNAVAILABLE', 'RUN steps need root: kiln runs them with runc, and rootless builds are not supported yet', {
        hint: 'run kiln as root (sudo kiln build ...); a Dockerfile without RUN steps builds without root',
      });
    }
    const id = newContainerId();
    const bundle = join(this.bundlesDir, id);
    this.live.add(id);
    if (!this.exitHook) {
      this.exitHook = true;
      process.on('exit', () => this.killAllSync());
    }
    mkdirSync(this.runcRoot, { recursive: true, mode: 0o700 });
    mkdirSync(bundle, { recursive: true, mode: 0o700 });
    let cleanStubs: (() => void) | undefined;
    try {
      const absRootfs = resolve(rootfs);
      const hosts = join(bundle, 'hosts');
      const resolvConf = join(bundle, 'resolv.conf');
      writeFileSync(hosts, hostsFile(spec.hostname ?? DEFAULT_HOSTNAME, spec.extraHosts), { mode: 0o644 });
      let hostResolv: string | undefined;
      try {
        hostResolv = readFileSync(this.hostResolvConf, 'utf8');
      } catch {
        hostResolv = undefined;
      }
      writeFileSync(resolvConf, resolvConfFile(hostResolv), { mode: 0o644 });
      const config = buildOciConfig(spec, absRootfs, { hosts, resolvConf });
      if (io.attach === 'terminal') config.process.terminal = true;
      if (spec.cgroupParent !== undefined) config.linux.cgroupsPath = cgroupsPathFor(spec.cgroupParent, id);
      writeFileSync(join(bundle, 'config.json'), ociConfigJson(config));
      cleanStubs = recordMountStubs(absRootfs, [...(spec.mounts ?? []).map((m) => m.target), ...(spec.shmSizeBytes !== undefined ? ['/dev/shm'] : [])]);

      // Abort: `runc kill KILL` (repeated until `runc run` is gone: the container may not exist
      // yet when the signal arrives), SIGKILL runc itself as a last resort.
      let stopped = false;
      let killer: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        const started = Date.now();
        const tick = (): void => {
          if (stopped) return;
          void this.runc(['kill', id, 'KILL']).finally(() => {
            if (stopped) return;
            killer = setTimeout(tick, Date.now() - started > 10_000 ? 1000 : 100);
          });
        };
        tick();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      let r: SpawnResult;
      try {
        r = await spawn(this.runtimePath, ['--root', this.runcRoot, 'run', '--bundle', bundle, id], {
          env: this.env,
          cwd: bundle,
          onStdout: (b) => io.stdout.write(b),
          onStderr: (b) => io.stderr.write(b),
          ...(io.attach !== undefined ? { inherit: io.attach === 'terminal' ? ('all' as const) : ('stdin' as const) } : {}),
          tailLines: 20,
        });
      } catch (e) {
        throw new KilnError('RUNTIME_UNAVAILABLE', `cannot start ${this.runtimePath}: ${(e as Error).message}`, {
          cause: e,
          hint: 'check the --runtime path, or install runc (apt-get install runc)',
        });
      } finally {
        stopped = true;
        if (killer) clearTimeout(killer);
        signal.removeEventListener('abort', onAbort);
      }
      if (signal.aborted) throw new KilnError('ABORTED', 'RUN aborted', { outputTail: r.outputTail });
      if (r.code === 0) return 0;
      const exitCode = r.code ?? 128 + signalNumber(r.signal);
      const what = shortenText(spec.args.length >= 3 && spec.args[1] === '-c' ? spec.args.slice(2).join(' ') : JSON.stringify(spec.args));
      const hint = argListTooLongHint(spec, r.outputTail) ?? runtimeStartHint(r.outputTail);
      throw new KilnError('RUN_FAILED', `process "${what}" did not complete successfully: exit code: ${exitCode}`, {
        exitCode,
        outputTail: r.outputTail,
        ...(hint !== undefined ? { hint } : {}),
      });
    } finally {
      // runc run deletes its container on exit (its state dir goes with it); this covers kills,
      // crashes and aborts, and costs no runc process after a normal exit.
      if (existsSync(join(this.runcRoot, id))) await this.runc(['delete', '--force', id]).catch(() => undefined);
      this.live.delete(id);
      cleanStubs?.();
      removeTree(bundle);
    }
  }

  /**
   * Kills and deletes every container this instance started that is still there. Synchronous,
   * for process 'exit' handlers (installed automatically); killing `runc run` alone would leave
   * the container running.
   */
  killAllSync(): void {
    for (const id of this.live) {
      runSync(this.runtimePath, ['--root', this.runcRoot, 'kill', id, 'KILL']);
      runSync(this.runtimePath, ['--root', this.runcRoot, 'delete', '--force', id]);
      removeTree(join(this.bundlesDir, id));
    }
    this.live.clear();
  }

  /** Ids of containers under this runtime's state dir. */
  async list(): Promise<string[]> {
    const out = await output(this.runtimePath, ['--root', this.runcRoot, 'list', '-q'], { env: this.env });
    return out.split('\n').map((l) => l.trim()).filter(Boolean);
  }

  /**
   * Removes every container and bundle left under the state dir by a crashed kiln (call at start,
   * before any run of this process). Only ids kiln creates (kiln-<pid>-...) of dead pids are touched.
   */
  async cleanupStale(): Promise<string[]> {
    // runc keeps one directory per container under its --root: reading it costs no process
    // start (`runc list` would, on every build), and only dead kiln pids' ids need runc at all.
    let ids: string[] = [];
    try {
      ids = readdirSync(this.runcRoot);
    } catch {
      ids = [];
    }
    const removed: string[] = [];
    for (const id of ids) {
      const m = /^kiln-(\d+)-/.exec(id);
      if (!m || pidAlive(Number(m[1]))) continue;
      await this.runc(['kill', id, 'KILL']).catch(() => undefined);
      await this.runc(['delete', '--force', id]).catch(() => undefined);
      removeTree(join(this.bundlesDir, id));
      removed.push(id);
    }
    let bundles: string[] = [];
    try {
      bundles = readdirSync(this.bundlesDir);
    } catch {
      bundles = [];
    }
    for (const id of bundles) {
      const m = /^kiln-(\d+)-/.exec(id);
      if (!m || pidAlive(Number(m[1]))) continue;
      await this.runc(['delete', '--force', id]).catch(() => undefined);
      removeTree(join(this.bundlesDir, id));
      if (!removed.includes(id)) removed.push(id);
    }
    return removed;
  }
}


function signalNumber(sig: NodeJS.Signals | null): number {
  return sig ? (constants.signals[sig] ?? 0) : 0;
}
