// `kiln run`: a container from an image in the store — its layers (shared snapshots), a throwaway
// writable layer on top, and the image's Entrypoint/Cmd/Env/WorkingDir/User.
import { KilnError } from '../errors.js';
import type { ImageConfig, Manifest } from '../image/index.js';
import { RUNTIME_START_HINT, resolveUser, type ExtraMount, type NetworkMode, type Runtime } from '../exec/index.js';
import type { ResolvedImage } from '../plan/index.js';
import type { Snapshotter } from '../snapshot/index.js';
import { BuildCache } from './cache.js';
import { materialiseImage } from './base.js';
import type { BlobStore } from './ports.js';

export interface RunImageOptions {
  /** Replaces the image's Cmd (docker run IMAGE CMD...). */
  readonly cmd?: readonly string[];
  /** Replaces the image's Entrypoint (`--entrypoint`). */
  readonly entrypoint?: string;
  /** Extra KEY=VALUE entries, after the image's Env. */
  readonly env?: readonly string[];
  readonly user?: string;
  readonly workdir?: string;
  readonly network: NetworkMode;
  readonly mounts?: readonly ExtraMount[];
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** `-i`: the container reads kiln's stdin; `-t`: it runs on kiln's terminal (RunIO.attach). */
  readonly attach?: 'stdin' | 'terminal';
  readonly signal: AbortSignal;
}

/** The argv docker would run for this config and overrides. */
export function containerArgv(config: ImageConfig, cmd?: readonly string[], entrypoint?: string): string[] {
  const ep = entrypoint !== undefined ? (entrypoint === '' ? [] : [entrypoint]) : [...(config.config?.Entrypoint ?? [])];
  const c = cmd !== undefined && cmd.length > 0 ? [...cmd] : entrypoint !== undefined ? [] : [...(config.config?.Cmd ?? [])];
  const argv = [...ep, ...c];
  if (argv.length === 0) throw new KilnError('USAGE', 'no command specified: the image has no Entrypoint or Cmd', { hint: 'give the command after the image name' });
  return argv;
}

/** Runs the container in the foreground; resolves with its exit code. */
export async function runImage(
  image: ResolvedImage,
  manifest: Manifest,
  deps: { store: BlobStore; snapshotter: Snapshotter; runtime: Runtime; stateDir: string },
  opts: RunImageOptions,
): Promise<number> {
  const cache = new BuildCache(deps.stateDir);
  const m = await materialiseImage(image, manifest, { store: deps.store, snapshotter: deps.snapshotter, cache }, opts.signal);
  const active = await deps.snapshotter.prepare(m.snapshot, opts.signal);
  try {
    const c = image.config.config ?? {};
    const user = resolveUser(active.rootfs, opts.user ?? c.User ?? '');
    const argv = containerArgv(image.config, opts.cmd, opts.entrypoint);
    try {
      return await deps.runtime.run(
        {
          args: argv,
          env: [...(c.Env ?? []), ...(opts.env ?? [])],
          cwd: opts.workdir ?? (c.WorkingDir || '/'),
          user,
          network: opts.network,
          ...(opts.mounts ? { mounts: opts.mounts } : {}),
        },
        active.rootfs,
        { stdout: opts.stdout, stderr: opts.stderr, ...(opts.attach !== undefined ? { attach: opts.attach } : {}) },
        opts.signal,
      );
    } catch (e: unknown) {
      // A container that exits non-zero is not a kiln error: report its code like docker run...
      if (e instanceof KilnError && e.code === 'RUN_FAILED' && typeof e.details.exitCode === 'number') {
        // ...unless the runtime could not start the command: docker run's 127 (not found) / 126
        const start = e.details.hint?.startsWith(RUNTIME_START_HINT) ? e.details.hint.slice(RUNTIME_START_HINT.length) : undefined;
        if (start === undefined) return e.details.exitCode;
        const notFound = /no such file or directory|executable file not found/i.test(start);
        throw new KilnError('CONTAINER_START', `cannot start ${JSON.stringify(argv[0])}: ${start}`, {
          exitCode: notFound ? 127 : 126,
          hint: notFound ? 'check the command and the image\'s PATH (the command is looked up inside the image)' : 'the command is not executable in the image (check its mode, or run it through a shell)',
        });
      }
      throw e;
    }
  } finally {
    await active.release().catch(() => undefined);
  }
}
