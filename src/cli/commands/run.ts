// `kiln run [--rm] [-i] [-t] [-e K=V] [--entrypoint X] [-u USER] [-w DIR] [--network MODE] IMAGE [CMD...]`:
// run a container from an image in the store, in the foreground, and exit with its exit code.
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { KilnError } from '../../errors.js';
import { hostPlatform, parseManifest } from '../../image/index.js';
import { runImage } from '../../build/index.js';
import { createSnapshotter } from '../../snapshot/index.js';
import { RuncRuntime, findRuntime } from '../../exec/index.js';
import { resolveStoreRoot } from '../../store/index.js';
import { killChildrenOnExit } from '../../support/index.js';
import { findImage, openStore } from './store.js';
import type { Store } from '../../store/index.js';
import type { ResolvedImage } from '../../plan/index.js';
import { resolveFromStore } from '../base-images.js';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** `-e K=V` as is; `-e K` takes K from kiln's environment, or is left out when unset (docker run). */
export function containerEnv(flags: readonly string[], host: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (const e of flags) {
    const eq = e.indexOf('=');
    if (eq === 0 || e === '') throw new KilnError('USAGE', `invalid environment variable: ${e}`, { hint: 'use -e NAME=VALUE, or -e NAME to pass NAME from your environment' });
    if (eq > 0) out.push(e);
    else if (host[e] !== undefined) out.push(`${e}=${host[e]}`);
  }
  return out;
}

/** The image whose ID (config digest, or a prefix of at least 4 hex digits; `sha256:` optional) is `arg`. */
async function byId(store: Store, arg: string): Promise<ResolvedImage | undefined> {
  if (!/^(?:sha256:)?[0-9a-f]{4,64}$/.test(arg)) return undefined;
  let found;
  try {
    found = await findImage(store, arg);
  } catch (e: unknown) {
    if (e instanceof KilnError && e.code === 'IMAGE_NOT_FOUND') return undefined;
    throw e;
  }
  return resolveFromStore(store, found.refs[0]!.name, hostPlatform());
}

function hasControllingTerminal(): boolean {
  try {
    closeSync(openSync('/dev/tty', 'r'));
    return true;
  } catch {
    return false;
  }
}

interface RunFlags {
  rm?: boolean;
  env: string[];
  entrypoint?: string;
  user?: string;
  workdir?: string;
  network: string;
  runtime?: string;
  detach?: boolean;
  interactive?: boolean;
  tty?: boolean;
  publish: string[];
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('Run a command in a new container from an image in the local store')
    .argument('<IMAGE>', 'image name or id')
    .argument('[COMMAND...]', 'command and arguments (default: the image\'s Entrypoint and Cmd)')
    .option('--rm', 'remove the container when it exits (kiln always does)')
    .option('-e, --env <key=value>', 'set environment variables (repeatable)', collect, [])
    .option('--entrypoint <cmd>', 'overwrite the default ENTRYPOINT of the image')
    .option('-u, --user <user[:group]>', 'username or UID')
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('--network <mode>', 'host (default: the container shares the host network, so its ports are the host\'s) or none', 'host')
    .option('-p, --publish <spec>', 'publish ports (not needed: the host network is shared)', collect, [])
    .option('-d, --detach', 'run in the background (not supported)')
    .option('-i, --interactive', 'keep STDIN open: the container reads kiln\'s standard input')
    .option('-t, --tty', 'allocate a pseudo-TTY (kiln\'s standard input must be a terminal)')
    .option('--runtime <path>', 'OCI runtime (default: runc on PATH)')
    .passThroughOptions()
    .action(async (imageName: string, command: string[], flags: RunFlags) => {
      if (flags.detach) {
        throw new KilnError('NOT_IMPLEMENTED', '-d is not supported by kiln run', { hint: 'kiln run runs in the foreground; use your shell\'s & to background it' });
      }
      // -it: docker's own message and exit code when stdin is no terminal; -t: runc drives kiln's
      // controlling terminal (/dev/tty), so there must be one
      if (flags.tty && ((flags.interactive && process.stdin.isTTY !== true) || !hasControllingTerminal())) {
        throw new KilnError('USAGE', 'the input device is not a TTY', { hint: 'drop -t (keep -i to pass standard input), or run kiln from a terminal' });
      }
      if (flags.network !== 'host' && flags.network !== 'none' && flags.network !== 'default') {
        throw new KilnError('USAGE', `invalid --network ${JSON.stringify(flags.network)}: use host or none`);
      }
      if (flags.publish.length && flags.network === 'none') throw new KilnError('USAGE', '-p cannot be used with --network none');
      if (flags.workdir !== undefined && !flags.workdir.startsWith('/')) {
        throw new KilnError('USAGE', `the working directory '${flags.workdir}' is invalid, it needs to be an absolute path`);
      }
      const env = containerEnv(flags.env, process.env);
      const root = resolveStoreRoot(process.env);
      const store = openStore();
      // a name, or an image ID as `kiln images` shows it (as docker run takes both)
      const image = await resolveFromStore(store, imageName, hostPlatform()) ?? (await byId(store, imageName));
      if (!image) throw new KilnError('IMAGE_NOT_FOUND', `Unable to find image '${imageName}' locally`, { hint: 'build it with kiln build -t, or pull/load it first' });
      const parsed = parseManifest(await store.readBytes(image.digest));
      if (parsed.kind !== 'manifest') throw new KilnError('IMAGE_INVALID', `${imageName}: not an image manifest`);
      const snapshotter = await createSnapshotter(join(root, 'snapshots'));
      const runtime = new RuncRuntime({ runtimePath: findRuntime(flags.runtime !== undefined ? { runtime: flags.runtime } : {}), stateDir: join(root, 'run') });
      // what a killed kiln left running or mounted (as a build does first)
      await runtime.cleanupStale().catch(() => undefined);
      await snapshotter.cleanupStale().catch(() => undefined);
      killChildrenOnExit();
      const ac = new AbortController();
      let stoppedBy = 130;
      const stop = (sig: NodeJS.Signals): void => {
        stoppedBy = sig === 'SIGTERM' ? 143 : 130;
        ac.abort(new KilnError('ABORTED', 'container stopped'));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      // `kiln run … | head`: the reader went away; stop the container, as a shell pipeline's
      // SIGPIPE would stop its writer (exit 141), instead of dying on an unhandled EPIPE
      const onPipe = (e: NodeJS.ErrnoException): void => {
        if (e.code !== 'EPIPE') throw e;
        stoppedBy = 141;
        ac.abort(new KilnError('ABORTED', 'output closed'));
      };
      process.stdout.on('error', onPipe);
      try {
        const code = await runImage(image, parsed.manifest, { store, snapshotter, runtime, stateDir: join(root, 'build') }, {
          ...(command.length ? { cmd: command } : {}),
          ...(flags.entrypoint !== undefined ? { entrypoint: flags.entrypoint } : {}),
          env,
          ...(flags.user !== undefined ? { user: flags.user } : {}),
          ...(flags.workdir !== undefined ? { workdir: flags.workdir } : {}),
          network: flags.network === 'none' ? 'none' : 'host',
          stdout: process.stdout,
          stderr: process.stderr,
          ...(flags.tty ? { attach: 'terminal' as const } : flags.interactive ? { attach: 'stdin' as const } : {}),
          signal: ac.signal,
        });
        process.exitCode = code;
      } catch (e: unknown) {
        if (ac.signal.aborted) {
          process.exitCode = stoppedBy;
          return;
        }
        throw e;
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        process.stdout.off('error', onPipe);
      }
    });
}
