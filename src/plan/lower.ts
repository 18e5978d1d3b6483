// One instruction → steps, config and history (BuildKit's dispatch): variables expanded with the
// stage's build env, then RUN/COPY/ADD/WORKDIR lowered to steps, the rest to config changes.
import {
  chompHeredocContent, expandInstruction, gitSourceRef, MountSpecError, parseHeredoc, ShellLex, type AddInstruction, type CopyInstruction, type Instruction,
  type RunInstruction, type RunMount, type WorkdirInstruction,
} from '../dockerfile/index.js';
import { isKilnError, type SourceRange } from '../errors.js';
import type { ArgScope } from './config.js';
import * as cfg from './config.js';
import { planError, withLocation, type ErrorContext } from './fail.js';
import { buildArgPairs, displayCommand, runCommandString, summarizeHeredoc } from './format.js';
import { goClean, goJoin, mountTarget, normalizeWorkdir, pathRelativeToWorkingDir } from './paths.js';
import type { Command, Ref } from './stages.js';
import type { StageState } from './state.js';
import type { CopyStep, RunContainerOptions, RunMountPlan, RunStep, Source } from './types.js';

export interface DispatchContext extends ArgScope {
  /** The lexer for heredoc contents (BuildKit's ExpandRaw: `\` escapes, quotes kept). */
  readonly rawLex: ShellLex;
  /** The lexer for RUN display names. */
  readonly runLex: ShellLex;
  /** HTTP_PROXY=... pairs from proxy build args, added to every RUN's env. */
  readonly proxyEnv: readonly string[];
  /** For every RUN's container (`--add-host`, `--shm-size`, ...); absent when the build gives none. */
  readonly runContainer?: RunContainerOptions;
  /** The build's `--network=none`, for RUN steps that keep `--network=default`. */
  readonly network?: 'none';
  /** A COPY/mount source; undefined when it is a stage not yet planned (defined later). */
  source(ref: Ref): Source | undefined;
  /** Every ARG key a planned stage declares (for the unused build-arg warning). */
  readonly declared: Set<string>;
  /** BuildKit's stageName for messages ('' when the Dockerfile has a single stage). */
  readonly stageName: string;
}

function expand(s: StageState, raw: Instruction, ctx: DispatchContext): Instruction {
  if (raw.kind === 'ARG') return raw;
  // BuildKit's parseExpose sorts the raw port words (byte order) before any expansion.
  const ins: Instruction = raw.kind === 'EXPOSE' ? { ...raw, ports: [...raw.ports].sort(byteOrder) } : raw;
  const env = s.env.lookup;
  try {
    return expandInstruction(ins, (w) => ctx.lex.processWord(w, env).result, {
      expandRaw: (w) => ctx.rawLex.processWord(w, env).result,
      expandWords: (w) => ctx.lex.processWords(w, env).words,
    });
  } catch (e) {
    if (e instanceof MountSpecError) throw planError(ctx.err, ins.range, 'INVALID_FLAG', e.message, e.hint);
    throw withLocation(e, ctx.err, ins.range, 'ARG_EXPANSION');
  }
}

function byteOrder(a: string, b: string): number {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return Buffer.compare(x, y);
}

/** Dispatches one command of stage `s`. */
export function dispatch(s: StageState, cmd: Command, ctx: DispatchContext): void {
  const ins = expand(s, cmd.ins, ctx);
  const before = s.steps.length;
  try {
    dispatchExpanded(s, ins, cmd, ctx);
  } catch (e) {
    if (isKilnError(e) && e.location) throw e;
    throw withLocation(e, ctx.err, ins.range);
  }
  // a trigger shows as `ONBUILD <instruction>` (its location is the FROM line), like BuildKit's progress
  if (cmd.onbuild) for (let i = before; i < s.steps.length; i++) s.steps[i] = { ...s.steps[i]!, display: `ONBUILD ${s.steps[i]!.display}` };
}

function dispatchExpanded(s: StageState, ins: Instruction, cmd: Command, ctx: DispatchContext): void {
  switch (ins.kind) {
    case 'RUN':
      return dispatchRun(s, ins, cmd, ctx);
    case 'COPY':
    case 'ADD':
      return dispatchCopy(s, ins, cmd, ctx);
    case 'WORKDIR':
      return dispatchWorkdir(s, ins, ctx);
    case 'ENV':
      return cfg.dispatchEnv(s, ins);
    case 'LABEL':
      return cfg.dispatchLabel(s, ins);
    case 'MAINTAINER':
      return cfg.dispatchMaintainer(s, ins);
    case 'ONBUILD':
      return cfg.dispatchOnbuild(s, ins);
    case 'CMD':
      return cfg.dispatchCmd(s, ins);
    case 'ENTRYPOINT':
      return cfg.dispatchEntrypoint(s, ins);
    case 'HEALTHCHECK':
      return cfg.dispatchHealthcheck(s, ins);
    case 'EXPOSE':
      return cfg.dispatchExpose(s, ins, ctx.err);
    case 'USER':
      return cfg.dispatchUser(s, ins);
    case 'VOLUME':
      return cfg.dispatchVolume(s, ins, ctx.err);
    case 'STOPSIGNAL':
      return cfg.dispatchStopSignal(s, ins, ctx.err);
    case 'SHELL':
      return cfg.dispatchShell(s, ins);
    case 'ARG':
      return cfg.dispatchArg(s, ins, ctx, ctx.declared);
    case 'FROM':
      throw planError(ctx.err, ins.range, 'DOCKERFILE_SYNTAX', 'FROM is not allowed here', 'ONBUILD FROM is not allowed');
  }
}

/** RUN argv with heredocs folded in exactly like BuildKit's dispatchRun. */
function runArgv(s: StageState, c: RunInstruction, ctx: DispatchContext): { argv: string[]; files: RunStep['files']; suffix: string } {
  let args = [...c.command.args];
  const files: { path: string; content: string; mode: number }[] = [];
  let suffix = '';
  if (c.heredocs.length > 0) {
    if (args.length !== 1 || c.command.form !== 'shell') {
      throw planError(ctx.err, c.range, 'DOCKERFILE_SYNTAX', `parsing produced an invalid run command: [${args.join(' ')}]`);
    }
    const first = c.heredocs[0]!;
    if (parseHeredoc(args[0]!) !== undefined) {
      const data = first.chomp ? chompHeredocContent(first.content) : first.content;
      if (s.image.os !== 'windows' && data.startsWith('#!')) {
        checkHeredocFileName(first.name, 'RUN', ctx.err, c.range);
        const p = goJoin('/dev/pipes/', first.name);
        files.push({ path: p, content: data, mode: 0o755 });
        args = [p];
      } else {
        args = [data];
      }
      suffix = ` (${summarizeHeredoc(first.content)})`;
    } else {
      let b = args[0]!;
      for (const f of c.heredocs) b += `\n${f.content}${f.name}`;
      args = [b];
    }
  }
  const argv = cfg.withShell(s.image, args, c.command.form === 'shell');
  return { argv, files, suffix };
}

function dispatchRun(s: StageState, c: RunInstruction, cmd: Command, ctx: DispatchContext): void {
  // BuildKit runs such a step with every capability and no seccomp filter, and only when the
  // builder was started with --allow security.insecure. kiln has no entitlements, and running the
  // step sandboxed instead would ignore what the Dockerfile asks: refuse it, as a Dockerfile
  // error (exit 1; Docker 26's own frontend refuses the flag too: it is in the labs channel).
  if (c.security === 'insecure') {
    throw planError(ctx.err, c.range, 'INVALID_FLAG', 'RUN --security=insecure is not supported by kiln: every RUN step runs sandboxed', 'remove --security=insecure, or build this Dockerfile with docker buildx build --allow security.insecure');
  }
  const { argv, files, suffix } = runArgv(s, c, ctx);
  const mounts = runMounts(s, c, cmd, ctx);
  const pairs = buildArgPairs(s.buildArgs, s.env);
  const createdBy = 'RUN ' + runCommandString(argv, pairs);
  const step: RunStep = {
    kind: 'run',
    display: displayCommand(ctx.runLex, c.original.trim() + suffix, s.env.lookup),
    location: c.range,
    createdBy: `${createdBy} # buildkit`,
    argv,
    files,
    env: [...s.env.toArray(), ...ctx.proxyEnv],
    ...(ctx.proxyEnv.length > 0 ? { proxyEnv: ctx.proxyEnv } : {}),
    cwd: s.dir,
    user: s.image.config.User ?? '',
    network: c.network === 'default' && ctx.network !== undefined ? ctx.network : c.network,
    security: c.security,
    mounts,
    ...(ctx.runContainer ? { container: ctx.runContainer } : {}),
    buildArgs: pairs,
  };
  s.steps.push(step);
  s.commit(createdBy, true, true);
}

function runMounts(s: StageState, c: RunInstruction, cmd: Command, ctx: DispatchContext): RunMountPlan[] {
  const out: RunMountPlan[] = [];
  let sshCount = 0;
  c.mounts.forEach((m: RunMount, i) => {
    const ref = cmd.sources[i];
    if (m.type === 'secret' || m.type === 'ssh') {
      const p = m.type === 'secret' ? secretMount(m) : sshMount(m, sshCount++);
      // a relative target is in the WORKDIR (runc's mount of it lands there under BuildKit)
      out.push(p.target === '' ? p : { ...p, target: mountTarget(s.dir, p.target) });
      return;
    }
    let from: Source | undefined;
    if (m.type === 'tmpfs') from = undefined;
    else if (ref === undefined) from = m.type === 'bind' ? { kind: 'context' } : undefined;
    else if (ref.kind === 'scratch') from = undefined;
    else {
      from = ctx.source(ref);
      if (from === undefined) {
        throw planError(ctx.err, c.range, 'STAGE_NOT_FOUND', `cannot mount from stage "${m.from}" to "${m.target ?? ''}", stage needs to be defined before current command`, 'move the stage above this one in the Dockerfile');
      }
      if (from.kind === 'stage') s.dependsOn.add(from.stage);
    }
    const target = mountTarget(s.dir, m.target ?? '');
    if (target === '/') throw planError(ctx.err, c.range, 'INVALID_FLAG', `invalid mount target "${target}"`, 'mount somewhere below /, e.g. target=/cache');
    const source = goJoin('/', m.source ?? '');
    const plan: { -readonly [K in keyof RunMountPlan]: RunMountPlan[K] } = { type: m.type, target, readOnly: m.readOnly, required: m.required };
    if (from) plan.from = from;
    else if (m.type === 'bind' && ref?.kind === 'scratch') plan.empty = true;
    if (source !== '/') plan.source = source;
    if (m.type === 'cache') {
      plan.id = m.id || goClean(m.target ?? '');
      plan.sharing = m.sharing ?? 'shared';
    } else if (m.id) plan.id = m.id;
    if (m.type === 'tmpfs' && m.size !== undefined) plan.size = m.size;
    if (m.mode !== undefined) plan.mode = m.mode;
    if (m.uid !== undefined) plan.uid = m.uid;
    if (m.gid !== undefined) plan.gid = m.gid;
    out.push(plan);
  });
  return out;
}

/** dispatchSecret: id from source or id or the target's base name; file at target or /run/secrets/<id> unless env= only. */
function secretMount(m: RunMount): RunMountPlan {
  let id = m.id ?? '';
  if (m.source) id = m.source;
  if (id === '') id = baseName(m.target ?? '');
  const target = m.env === undefined ? m.target || `/run/secrets/${baseName(id)}` : (m.target ?? '');
  const p: { -readonly [K in keyof RunMountPlan]: RunMountPlan[K] } = { type: 'secret', target, id, readOnly: true, required: m.required, mode: m.mode ?? 0o400, uid: m.uid ?? 0, gid: m.gid ?? 0 };
  if (m.env !== undefined) p.env = m.env;
  return p;
}

function sshMount(m: RunMount, n: number): RunMountPlan {
  return { type: 'ssh', target: m.target || `/run/buildkit/ssh_agent.${n}`, id: m.id || 'default', readOnly: true, required: m.required, mode: m.mode ?? 0o600, uid: m.uid ?? 0, gid: m.gid ?? 0 };
}

function baseName(p: string): string {
  const c = goClean(p);
  if (c === '/') return '/';
  const i = c.lastIndexOf('/');
  return i < 0 ? c : c.slice(i + 1);
}

const isHttp = (src: string): boolean => (src.startsWith('http://') || src.startsWith('https://')) && !isGit(src);

/** A simplified dfgitutil.ParseGitRef: git@host:, git://, ssh://, or an http(s) URL ending in .git[#...]. */
function isGit(src: string): boolean {
  return gitSourceRef(src) !== undefined;
}

function checkChmod(chmod: string): string | undefined {
  const nonOctal = `invalid chmod parameter: '${chmod}'. it should be octal string and between 0 and 07777`;
  if (/^[0-7]+$/.test(chmod)) return parseInt(chmod, 8) > 0o7777 ? nonOctal : undefined;
  if (/^[+-]?[0-9]+$/.test(chmod)) return nonOctal;
  if (/^([ugoa]*([-+=]([rwxXst]*|[ugo]))+)(,([ugoa]*([-+=]([rwxXst]*|[ugo]))+))*$/.test(chmod)) return undefined;
  return `invalid chmod parameter: '${chmod}'`;
}

function dispatchCopy(s: StageState, c: CopyInstruction | AddInstruction, cmd: Command, ctx: DispatchContext): void {
  const add = c.kind === 'ADD';
  let from: Source = { kind: 'context' };
  const ref = cmd.sources[0];
  if (c.kind === 'COPY' && ref !== undefined) {
    if (ref.kind === 'scratch') {
      throw planError(ctx.err, c.range, 'STAGE_NOT_FOUND', 'cannot copy from scratch: it has no files', 'copy from a stage or an image');
    }
    const src = ctx.source(ref);
    if (src === undefined) {
      throw planError(ctx.err, c.range, 'STAGE_NOT_FOUND', `cannot copy from stage "${c.from}", it needs to be defined before current stage "${ctx.stageName}"`, `move stage "${c.from}" above stage "${ctx.stageName}"`);
    }
    from = src;
    if (src.kind === 'stage') s.dependsOn.add(src.stage);
  }
  const dest = pathRelativeToWorkingDir(s.dir, c.dest);
  if (c.chmod !== undefined && c.chmod !== '') {
    const bad = checkChmod(c.chmod);
    if (bad) throw planError(ctx.err, c.range, 'INVALID_FLAG', bad, 'e.g. --chmod=0755 or --chmod=u+x');
  }
  if (c.kind === 'ADD' && c.checksum) {
    if (c.sources.length !== 1) throw planError(ctx.err, c.range, 'INVALID_FLAG', "checksum can't be specified for multiple sources");
    // a Git URL is not an HTTP source even with https:// (BuildKit 0.15 isHTTPSource; 0.13 ignored the checksum)
    if (!isHttp(c.sources[0]!) || isGit(c.sources[0]!)) throw planError(ctx.err, c.range, 'INVALID_FLAG', "checksum can't be specified for non-HTTP sources", isGit(c.sources[0]!) ? 'pin the commit in the URL instead: #<40-digit commit id>' : undefined);
  }
  let msg = add ? 'ADD' : 'COPY';
  if (c.kind === 'COPY' && c.parents) msg += ' --parents';
  if (c.chown) msg += ` --chown=${c.chown}`;
  if (c.chmod) msg += ` --chmod=${c.chmod}`;
  for (const src of c.sources) {
    if (!add && isGit(src)) throw planError(ctx.err, c.range, 'DOCKERFILE_SYNTAX', "source can't be a git ref for COPY", 'use ADD for git sources');
    if (!add && isHttp(src)) throw planError(ctx.err, c.range, 'DOCKERFILE_SYNTAX', "source can't be a URL for COPY", 'use ADD for URLs');
    msg += ` ${src}`;
  }
  for (const inl of c.inline) {
    checkHeredocFileName(inl.path, add ? 'ADD' : 'COPY', ctx.err, c.range);
    msg += ` <<${inl.path}`;
  }
  msg += ` ${c.dest}`;
  const step: { -readonly [K in keyof CopyStep]: CopyStep[K] } = {
    kind: 'copy',
    display: displayCommand(ctx.lex, c.original.trim(), s.env.lookup),
    location: c.range,
    createdBy: `${msg} # buildkit`,
    add,
    from,
    sources: [...c.sources],
    inline: c.inline.map((i) => ({ path: i.path, data: i.data })),
    dest,
    link: c.link,
    parents: c.kind === 'COPY' ? c.parents : false,
    excludes: [...c.excludes],
  };
  if (c.chown) step.chown = c.chown;
  if (c.chmod) step.chmod = c.chmod;
  if (c.kind === 'ADD') {
    if (c.checksum) step.checksum = c.checksum;
    if (c.unpack !== undefined) step.unpack = c.unpack;
    if (c.keepGitDir !== undefined) step.keepGitDir = c.keepGitDir;
  }
  s.steps.push(step);
  s.commit(msg, true, true);
}

function dispatchWorkdir(s: StageState, c: WorkdirInstruction, ctx: DispatchContext): void {
  s.workdirSet = true;
  const wd = normalizeWorkdir(s.image.config.WorkingDir ?? '', c.path);
  s.image.config.WorkingDir = wd;
  if (wd === '/') {
    s.commit(`WORKDIR ${wd}`, false);
    return;
  }
  s.steps.push({
    kind: 'workdir',
    display: displayCommand(ctx.lex, c.original.trim(), s.env.lookup),
    location: c.range,
    createdBy: `WORKDIR ${wd}`,
    path: wd,
    user: s.image.config.User ?? '',
  });
  s.commit(`WORKDIR ${wd}`, true);
}

/**
 * A heredoc that becomes a file (every COPY/ADD heredoc, a RUN heredoc with a #! line) is written
 * by BuildKit as a file of that name in an empty directory: a name with a directory part, or one
 * that cleans to nothing (`..`), fails there. kiln says so at the line instead of inventing a name.
 */
function checkHeredocFileName(name: string, kind: 'COPY' | 'ADD' | 'RUN', err: ErrorContext, range: SourceRange): void {
  const clean = goClean(`/${name}`);
  if (clean !== '/' && clean.lastIndexOf('/') === 0) return;
  throw planError(err, range, 'DOCKERFILE_SYNTAX', `${kind} heredoc <<${name}: its name must be a file name (no directories, not . or ..)`, kind === 'RUN' ? 'name the heredoc with a plain word, e.g. <<EOF' : `name it with a plain word and put the path in the destination, e.g. ${kind} <<EOF /dir/file`);
}
