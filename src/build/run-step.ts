// Executes a RUN step in an active rootfs: resolves the user inside the rootfs, sets up the
// RUN --mount mounts and heredoc files, runs the process with the OCI runtime, and turns a failure
// into a located error that names the stage, the exit code and the output tail.
import { chmodSync, chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { join, posix } from 'node:path';
import { createHash } from 'node:crypto';
import { KilnError, isKilnError } from '../errors.js';
import { resolveUser, type ExtraMount, type Runtime } from '../exec/index.js';
import type { RunMountPlan, RunStep, Source } from '../plan/index.js';
import { makeTempDir, removeTree, Semaphore } from '../support/index.js';
import type { ProgressEmitter } from '../progress/index.js';

export interface RunContext {
  readonly runtime: Runtime;
  readonly stateDir: string;
  readonly contextDir: string;
  readonly progress: ProgressEmitter;
  readonly progressId: number;
  readonly stage: string;
  readonly sourceLines?: readonly string[];
  /** A read-only host path of a source's root filesystem (stage or image) for bind mounts. */
  readonly sourceRoot: (src: Source) => Promise<string>;
}

const cacheLocks = new Map<string, Semaphore>();

function lineWriter(emit: (text: string) => void): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      emit(chunk.toString('utf8'));
      cb();
    },
  });
}

function insidePath(root: string, p: string): string {
  const clean = posix.normalize(`/${p}`);
  return join(root, clean);
}

/** Host directory for a cache mount, created with the requested mode/owner on first use. */
function cacheMountDir(stateDir: string, m: RunMountPlan): string {
  const id = m.id ?? m.target;
  const dir = join(stateDir, 'cache-mounts', createHash('sha256').update(id).digest('hex').slice(0, 32));
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, m.mode ?? 0o755);
    chownSync(dir, m.uid ?? 0, m.gid ?? 0);
  }
  return dir;
}

export async function executeRun(step: RunStep, rootfs: string, ctx: RunContext, signal: AbortSignal): Promise<void> {
  const user = resolveUser(rootfs, step.user);
  const mounts: ExtraMount[] = [];
  const cleanups: (() => void)[] = [];
  const releases: (() => void)[] = [];
  try {
    for (const m of step.mounts) {
      switch (m.type) {
        case 'bind': {
          const root = m.from === undefined || m.from.kind === 'context' ? ctx.contextDir : await ctx.sourceRoot(m.from);
          const src = insidePath(root, m.source ?? '/');
          if (!existsSync(src)) {
            throw new KilnError('CONTEXT_PATH_NOT_FOUND', `RUN --mount=type=bind: source ${m.source ?? '/'} not found`, { location: [step.location] });
          }
          if (m.readOnly) {
            mounts.push({ type: 'bind', source: src, target: m.target, readonly: true });
          } else {
            // rw bind mounts are writable for the step, but their changes are discarded: mount a scratch copy.
            const tmp = makeTempDir('kiln-rwbind-', join(ctx.stateDir, 'tmp'));
            cleanups.push(() => removeTree(tmp));
            const { spawn } = await import('../support/index.js');
            await spawn('cp', ['-a', '--', `${src}/.`, tmp], { signal });
            mounts.push({ type: 'bind', source: tmp, target: m.target, readonly: false });
          }
          break;
        }
        case 'cache': {
          if (m.from !== undefined) {
            throw new KilnError('NOT_IMPLEMENTED', 'RUN --mount=type=cache,from=… is not supported yet', { location: [step.location], hint: 'drop from= (the cache starts empty)' });
          }
          const dir = cacheMountDir(ctx.stateDir, m);
          if (m.sharing === 'locked' || m.sharing === 'private') {
            const key = dir;
            let sem = cacheLocks.get(key);
            if (!sem) cacheLocks.set(key, (sem = new Semaphore(1)));
            releases.push(await sem.acquire(signal));
          }
          mounts.push({ type: 'bind', source: dir, target: m.target, readonly: m.readOnly });
          break;
        }
        case 'tmpfs':
          mounts.push(m.size === undefined ? { type: 'tmpfs', target: m.target } : { type: 'tmpfs', target: m.target, sizeBytes: m.size });
          break;
        case 'secret':
        case 'ssh':
          throw new KilnError('NOT_IMPLEMENTED', `RUN --mount=type=${m.type} is not supported yet`, {
            location: [step.location],
            hint: 'secrets and SSH forwarding are planned; remove the mount for now',
          });
      }
    }
    if (step.files.length > 0) {
      const dir = makeTempDir('kiln-heredoc-', join(ctx.stateDir, 'tmp'));
      cleanups.push(() => removeTree(dir));
      const dirs = new Set(step.files.map((f) => posix.dirname(f.path)));
      if (dirs.size !== 1) throw new KilnError('INTERNAL', 'heredoc files must share one directory');
      for (const f of step.files) {
        const p = join(dir, posix.basename(f.path));
        writeFileSync(p, f.content);
        chmodSync(p, f.mode);
      }
      mounts.push({ type: 'bind', source: dir, target: [...dirs][0]!, readonly: true });
    }

    const out = lineWriter((t) => ctx.progress.log(ctx.progressId, 'stdout', t));
    const err = lineWriter((t) => ctx.progress.log(ctx.progressId, 'stderr', t));
    try {
      await ctx.runtime.run(
        { args: step.argv, env: step.env, cwd: step.cwd, user, network: step.network, mounts },
        rootfs,
        { stdout: out, stderr: err },
        signal,
      );
    } catch (e: unknown) {
      if (isKilnError(e) && e.code === 'RUN_FAILED') {
        const shown = step.argv.join(' ');
        const code = e.details.exitCode;
        throw new KilnError('RUN_FAILED', `process "${shown}" did not complete successfully: exit code: ${code ?? 'unknown'}`, {
          ...e.details,
          cause: e,
          location: [step.location],
          ...(ctx.sourceLines ? { sourceLines: ctx.sourceLines } : {}),
          stage: ctx.stage,
        });
      }
      throw e;
    }
  } finally {
    for (const r of releases) r();
    for (const c of cleanups) {
      try {
        c();
      } catch {
        /* best effort */
      }
    }
  }
}

/** WORKDIR: create the directory (and parents) inside the rootfs, owned by the current user. */
export function executeWorkdir(path: string, userSpec: string, rootfs: string, resolve: (root: string, p: string) => string): void {
  const parts = path.split('/').filter((c) => c !== '');
  let cur = '';
  let owner: { uid: number; gid: number } | undefined;
  for (const c of parts) {
    cur += `/${c}`;
    const host = resolve(rootfs, cur);
    if (!existsSync(host)) {
      owner ??= userSpec === '' ? { uid: 0, gid: 0 } : resolveUser(rootfs, userSpec);
      mkdirSync(host, { mode: 0o755 });
      chmodSync(host, 0o755);
      chownSync(host, owner.uid, owner.gid);
    }
  }
}
