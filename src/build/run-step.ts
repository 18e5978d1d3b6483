// Executes a RUN step in an active rootfs: resolves the user inside the rootfs, sets up the
// RUN --mount mounts and heredoc files, runs the process with the OCI runtime, and turns a failure
// into a located error that names the stage, the exit code and the output tail.
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { KilnError, isKilnError, shortenText } from '../errors.js';
import { resolveInRoot, resolveUser, type ExtraMount, type Runtime } from '../exec/index.js';
import type { LocalSource, RunMountPlan, RunStep, Source } from '../plan/index.js';
import { makeTempDir, output, removeTree } from '../support/index.js';
import { stepLogWriter, type ProgressEmitter } from '../progress/index.js';
import type { MountSources } from './ports.js';
import type { IgnoreMatcher } from '../context/index.js';
import { executeCopy, namesUserOrGroup, resolveChown, type Owner } from './copy/index.js';
import { acquireCacheDir, freshCacheDir, readSecret, secretFile, sshProxy } from './mounts.js';

export interface RunContext {
  readonly runtime: Runtime;
  readonly stateDir: string;
  readonly contextDir: string;
  /** The context is an archive from stdin or a URL (BuildDeps.contextFetched): bound as it is, like a stage. */
  readonly contextFetched?: boolean;
  readonly progress: ProgressEmitter;
  readonly progressId: number;
  readonly stage: string;
  readonly sourceLines?: readonly string[];
  /** A read-only host path of a source's root filesystem (stage or image) for bind mounts. */
  readonly sourceRoot: (src: Source) => Promise<string>;
  /** Identity of the content at `source` in a source (for cache mounts seeded with from=). */
  readonly sourceId?: (src: Source, source: string | undefined) => Promise<string>;
  /** The context's .dockerignore: context bind mounts hide what it excludes. */
  readonly ignore?: IgnoreMatcher;
  /** The .dockerignore of a named local context (`--build-context NAME=DIR`), if it has one. */
  readonly localIgnore?: (src: LocalSource) => IgnoreMatcher | undefined;
  /** `--secret` / `--ssh` of the build. */
  readonly mountSources?: MountSources;
}

/** ownedByRoot's answers in this process (one build): every RUN binding the context asks again. */
const rootOwned = new Map<string, boolean>();

/** Whether every entry under `p` (itself included) is owned by 0:0; stops at the first that is not. */
function ownedByRoot(p: string): boolean {
  const known = rootOwned.get(p);
  if (known !== undefined) return known;
  let answer = true;
  const stack = [p];
  while (answer && stack.length > 0) {
    const cur = stack.pop()!;
    const st = lstatSync(cur);
    if (st.uid !== 0 || st.gid !== 0) answer = false;
    else if (st.isDirectory()) for (const n of readdirSync(cur)) stack.push(join(cur, n));
  }
  rootOwned.set(p, answer);
  return answer;
}

/**
 * What a mount from the context (or a named local context) at `source` shows: the context as a
 * COPY would see it (no .dockerignored files, owned by root, as BuildKit's context transfer gives
 * it: git's "dubious ownership" check passes), which is also exactly what its cache key covers;
 * a temporary copy, removed by `cleanups`. Undefined when the source is used as it is: not a
 * context, or one owned by root already with no .dockerignore.
 */
async function contextView(ctx: RunContext, from: Source | undefined, root: string, source: string | undefined, cleanups: (() => void)[], signal: AbortSignal): Promise<string | undefined> {
  const local = from?.kind === 'local' ? from : undefined;
  const fromContext = ((from === undefined || from.kind === 'context') && ctx.contextFetched !== true) || local !== undefined;
  if (!fromContext) return undefined;
  const ignore = local ? ctx.localIgnore?.(local) : ctx.ignore;
  const src = resolveInRoot(root, source ?? '/');
  if (!ignore && ownedByRoot(src)) return undefined;
  const tmp = makeTempDir('kiln-ctxbind-', join(ctx.stateDir, 'tmp'));
  cleanups.push(() => removeTree(tmp));
  chmodSync(tmp, 0o755);
  const isDir = statSync(src).isDirectory();
  const name = posix.basename(posix.normalize('/' + (source ?? '/'))) || 'file';
  await executeCopy({ srcRoot: root, srcKind: 'context', ignore, sources: [source ?? '/'], inline: [], dest: isDir ? '/' : `/${name}`, destRoot: tmp, parents: false, excludes: [], link: false }, signal);
  return isDir ? tmp : join(tmp, name);
}

/** A new directory as BuildKit's mkdir makes one: 0755 whatever the umask, owned by `owner`. */
function mkdirOwned(p: string, owner: Owner): void {
  mkdirSync(p, { mode: 0o755 });
  chmodSync(p, 0o755);
  chownSync(p, owner.uid, owner.gid);
}

/**
 * A working directory that does not exist is made before the run, as BuildKit's executor makes
 * it: resolved in the rootfs (through symlinks), the missing directories 0755 and owned by the
 * step's user (idtools.MkdirAllAndChown). runc would make it as root, or fail on a dangling link.
 */
function makeWorkingDir(rootfs: string, cwd: string, owner: Owner): void {
  const target = resolveInRoot(rootfs, cwd);
  if (existsSync(target)) return;
  const missing: string[] = [];
  for (let p = target; p.length > rootfs.length && !existsSync(p); p = posix.dirname(p)) missing.unshift(p);
  for (const p of missing) {
    try {
      mkdirOwned(p, owner);
    } catch {
      return; // a file in the way: runc reports it, at the step's line
    }
  }
}

export async function executeRun(step: RunStep, rootfs: string, ctx: RunContext, signal: AbortSignal): Promise<void> {
  const user = resolveUser(rootfs, step.user);
  makeWorkingDir(rootfs, step.cwd, user);
  const mounts: ExtraMount[] = [];
  const cleanups: (() => void)[] = [];
  const releases: (() => void)[] = [];
  const closers: (() => Promise<void>)[] = [];
  /** Step env plus secret env (env= secret mounts, SSH_AUTH_SOCK); never part of the cache key. */
  const env: string[] = [...step.env];
  // BuildKit (llb's ExecOp) points SSH_AUTH_SOCK at the first ssh mount, agent or not, unless set
  const firstSsh = step.mounts.find((m) => m.type === 'ssh');
  if (firstSsh && !env.some((e) => e.startsWith('SSH_AUTH_SOCK='))) env.push(`SSH_AUTH_SOCK=${firstSsh.target}`);
  try {
    for (const m of step.mounts) {
      switch (m.type) {
        case 'bind': {
          if (m.empty) {
            // from=scratch: an empty directory (nothing to select a source= in)
            if (m.source !== undefined) throw new KilnError('CONTEXT_PATH_NOT_FOUND', `RUN --mount=type=bind,from=scratch: source ${m.source} not found (scratch is empty)`, { location: [step.location] });
            const tmp = makeTempDir('kiln-scratchbind-', join(ctx.stateDir, 'tmp'));
            cleanups.push(() => removeTree(tmp));
            chmodSync(tmp, 0o755);
            mounts.push({ type: 'bind', source: tmp, target: m.target, readonly: m.readOnly });
            break;
          }
          const root = m.from === undefined || m.from.kind === 'context' ? ctx.contextDir : await ctx.sourceRoot(m.from);
          const src = resolveInRoot(root, m.source ?? '/');
          if (!existsSync(src)) {
            throw new KilnError('CONTEXT_PATH_NOT_FOUND', `RUN --mount=type=bind: source ${m.source ?? '/'} not found`, { location: [step.location] });
          }
          const view = await contextView(ctx, m.from, root, m.source, cleanups, signal);
          if (view !== undefined) {
            mounts.push({ type: 'bind', source: view, target: m.target, readonly: m.readOnly });
          } else if (m.readOnly) {
            mounts.push({ type: 'bind', source: src, target: m.target, readonly: true });
          } else {
            // rw bind mounts are writable for the step, but their changes are discarded: mount a scratch copy.
            const tmp = makeTempDir('kiln-rwbind-', join(ctx.stateDir, 'tmp'));
            cleanups.push(() => removeTree(tmp));
            if (statSync(src).isDirectory()) {
              await output('cp', ['-a', '--', `${src}/.`, tmp], { signal });
              mounts.push({ type: 'bind', source: tmp, target: m.target, readonly: false });
            } else {
              await output('cp', ['-a', '--', src, join(tmp, 'file')], { signal });
              mounts.push({ type: 'bind', source: join(tmp, 'file'), target: m.target, readonly: false });
            }
          }
          break;
        }
        case 'cache': {
          let seed: { path: string; id: string } | undefined;
          if (m.from !== undefined && !freshCacheDir(m)) {
            const root = m.from.kind === 'context' ? ctx.contextDir : await ctx.sourceRoot(m.from);
            const id = ctx.sourceId ? await ctx.sourceId(m.from, m.source) : m.from.kind;
            // from a (named) context: what a COPY sees, which is what the seed's id covers
            const path = resolveInRoot(root, m.source ?? '/');
            const view = existsSync(path) ? await contextView(ctx, m.from, root, m.source, cleanups, signal) : undefined;
            seed = { path: view ?? path, id: `${id}:${posix.normalize('/' + (m.source ?? '/'))}` };
          }
          const { dir, release } = await acquireCacheDir(ctx.stateDir, m, seed, signal);
          releases.push(release);
          mounts.push({ type: 'bind', source: dir, target: m.target, readonly: m.readOnly });
          break;
        }
        case 'tmpfs':
          mounts.push({ type: 'tmpfs', target: m.target, readonly: m.readOnly, ...(m.size === undefined ? {} : { sizeBytes: m.size }) });
          break;
        case 'secret': {
          const id = m.id ?? posix.basename(m.target);
          const value = await readSecret(id, ctx.mountSources?.secrets?.get(id), signal);
          if (value === undefined) {
            if (!m.required) break;
            throw new KilnError('SECRET_NOT_FOUND', `secret ${id} not found`, {
              location: [step.location],
              ...(ctx.sourceLines ? { sourceLines: ctx.sourceLines } : {}),
              hint: `pass it with --secret id=${id},src=FILE (or env=VARIABLE)`,
            });
          }
          if (m.env !== undefined && m.env !== '') env.push(`${m.env}=${value.toString('utf8')}`);
          if (m.target !== '') {
            const s = secretFile(tmpdir(), m, value);
            cleanups.push(s.cleanup);
            mounts.push({ type: 'bind', source: s.file, target: m.target, readonly: true });
          }
          break;
        }
        case 'ssh': {
          const id = m.id ?? 'default';
          const agent = ctx.mountSources?.ssh?.get(id);
          if (agent === undefined) {
            if (!m.required) break;
            throw new KilnError('SECRET_NOT_FOUND', `no SSH agent socket given for ssh id ${id}`, {
              location: [step.location],
              ...(ctx.sourceLines ? { sourceLines: ctx.sourceLines } : {}),
              hint: id === 'default' ? 'pass --ssh default (uses $SSH_AUTH_SOCK) or --ssh default=/path/to/agent.sock' : `pass --ssh ${id}=/path/to/agent.sock`,
            });
          }
          const proxy = await sshProxy(join(ctx.stateDir, 'tmp'), agent, m);
          closers.push(proxy.close);
          mounts.push({ type: 'bind', source: proxy.socket, target: m.target, readonly: false });
          break;
        }
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

    // each stream is clipped on its own, as BuildKit's log streams are
    const out = stepLogWriter((t) => ctx.progress.log(ctx.progressId, 'stdout', t));
    const err = stepLogWriter((t) => ctx.progress.log(ctx.progressId, 'stderr', t));
    try {
      await ctx.runtime.run(
        { args: step.argv, env, cwd: step.cwd, user, network: step.network, mounts, ...step.container },
        rootfs,
        { stdout: out, stderr: err },
        signal,
      );
    } catch (e: unknown) {
      if (isKilnError(e) && e.code === 'RUN_FAILED') {
        const shown = shortenText(step.argv.join(' '));
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
    for (const c of closers) await c().catch(() => undefined);
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

/**
 * BuildKit looks a user or group NAME up in the step's base snapshot; on an empty FROM scratch
 * stage (`emptyBase`: no snapshot yet) there is none, and it fails ("invalid user index: -1").
 * Ids need no lookup.
 */
export function refuseNamesOnEmptyBase(emptyBase: boolean, spec: string, what: string): void {
  if (!emptyBase || !namesUserOrGroup(spec)) return;
  throw new KilnError('RUN_FAILED', `${what}: the stage is an empty FROM scratch, with no /etc/passwd or /etc/group to look the name up in`, {
    hint: 'use numeric ids (e.g. 1000:1000), or give the stage its files first',
  });
}

/**
 * WORKDIR: create the directory (and parents) inside the rootfs, owned by the current USER as
 * BuildKit's mkdir resolves it (llb.WithUser, the same rules as COPY --chown): a bare uid is also
 * the gid, a name that is not in /etc/passwd is root, an unknown group keeps the user's gid.
 */
export function executeWorkdir(path: string, userSpec: string, rootfs: string, resolve: (root: string, p: string) => string, emptyBase = false): void {
  const parts = path.split('/').filter((c) => c !== '');
  let cur = '';
  let owner: Owner | undefined;
  for (const c of parts) {
    cur += `/${c}`;
    const host = resolve(rootfs, cur);
    if (!existsSync(host)) {
      if (owner === undefined) {
        refuseNamesOnEmptyBase(emptyBase, userSpec, `WORKDIR cannot create ${path} as USER ${userSpec}`);
        owner = resolveChown(rootfs, userSpec);
      }
      mkdirOwned(host, owner);
    } else if (!statSync(host).isDirectory()) {
      // BuildKit's mkdir fails here, at the WORKDIR, not at the next RUN that would chdir into it
      throw new KilnError('IO', `mkdir ${cur}: not a directory`, {
        hint: `${cur} is a file in the image; pick another WORKDIR or remove the file first`,
      });
    }
  }
}
