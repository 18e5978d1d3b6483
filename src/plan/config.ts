// The config-only instructions (BuildKit's dispatchEnv/Label/Cmd/Entrypoint/...): each changes
// the image config and records an empty-layer history entry, except ONBUILD (no history).
import type {
  ArgInstruction, CmdInstruction, EntrypointInstruction, EnvInstruction, ExposeInstruction, HealthcheckInstruction,
  LabelInstruction, MaintainerInstruction, OnbuildInstruction, ShellInstruction, ShellLex, StopsignalInstruction,
  UserInstruction, VolumeInstruction, CommandLine,
} from '../dockerfile/index.js';
import { addEnv } from './env.js';
import { planError, type ErrorContext } from './fail.js';
import { exposeString, goList, goQuoteList, healthString } from './format.js';
import { checkSignal, parsePort, SpecError } from './ports.js';
import { toDockerHealth, type StageState, type WorkingImage } from './state.js';

/** Scope for ARG: the global args and the `--build-arg` values. */
export interface ArgScope {
  readonly globals: { get(key: string): string | undefined };
  readonly buildArgs: ReadonlyMap<string, string>;
  readonly lex: ShellLex;
  readonly err: ErrorContext;
}

/** Args BuildKit keeps out of the build env (SBOM scan switches). */
const NON_ENV_ARGS = new Set(['BUILDKIT_SBOM_SCAN_CONTEXT', 'BUILDKIT_SBOM_SCAN_STAGE']);

export function defaultShell(os: string): string[] {
  return os === 'windows' ? ['cmd', '/S', '/C'] : ['/bin/sh', '-c'];
}

/** Shell form → SHELL (or the default) + the command joined into one word; exec form as is. */
export function withShell(img: WorkingImage, cmd: CommandLine | readonly string[], prepend = true): string[] {
  const args = Array.isArray(cmd) ? (cmd as readonly string[]) : (cmd as CommandLine).args;
  if (!prepend) return [...args];
  const shell = img.config.Shell && img.config.Shell.length > 0 ? [...img.config.Shell] : defaultShell(img.os);
  return [...shell, args.join(' ')];
}

export function dispatchEnv(s: StageState, c: EnvInstruction): void {
  let msg = 'ENV';
  for (const e of c.env) {
    msg += ` ${e.key}=${e.value}`;
    s.env = s.env.set(e.key, e.value);
    addEnv(s.image.config.Env, e.key, e.value);
  }
  s.commit(msg, false);
}

export function dispatchLabel(s: StageState, c: LabelInstruction): void {
  let msg = 'LABEL';
  const labels = (s.image.config.Labels ??= {});
  for (const l of c.labels) {
    labels[l.key] = l.value;
    msg += ` ${l.key}=${l.value}`;
  }
  s.commit(msg, false);
}

export function dispatchMaintainer(s: StageState, c: MaintainerInstruction): void {
  s.image.author = c.maintainer;
  s.commit(`MAINTAINER ${c.maintainer}`, false);
}

export function dispatchOnbuild(s: StageState, c: OnbuildInstruction): void {
  (s.image.config.OnBuild ??= []).push(c.expression);
}

export function dispatchCmd(s: StageState, c: CmdInstruction): void {
  s.cmdSet = true;
  const args = withShell(s.image, c.command, c.command.form === 'shell');
  s.image.config.Cmd = args;
  s.image.config.ArgsEscaped = true;
  s.commit(`CMD ${goQuoteList(args)}`, false);
}

/** ENTRYPOINT also drops an inherited CMD unless this stage set CMD before it. */
export function dispatchEntrypoint(s: StageState, c: EntrypointInstruction): void {
  const args = withShell(s.image, c.command, c.command.form === 'shell');
  s.image.config.Entrypoint = args;
  if (!s.cmdSet) delete s.image.config.Cmd;
  s.commit(`ENTRYPOINT ${goQuoteList(args)}`, false);
}

export function dispatchHealthcheck(s: StageState, c: HealthcheckInstruction): void {
  const h = toDockerHealth(c.health);
  s.image.config.Healthcheck = h;
  s.commit(`HEALTHCHECK ${healthString(h)}`, false);
}

export function dispatchExpose(s: StageState, c: ExposeInstruction, err: ErrorContext): void {
  const ports: string[] = [];
  for (const p of c.ports) {
    try {
      ports.push(...parsePort(p));
    } catch (e) {
      if (e instanceof SpecError) throw planError(err, c.range, 'DOCKERFILE_SYNTAX', e.message, 'EXPOSE takes port[/tcp|udp|sctp] or a range like 8000-8010');
      throw e;
    }
  }
  const exposed = (s.image.config.ExposedPorts ??= {});
  for (const p of ports) exposed[p] = {};
  s.commit(`EXPOSE ${exposeString(ports)}`, false);
}

export function dispatchUser(s: StageState, c: UserInstruction): void {
  s.image.config.User = c.user;
  s.commit(`USER ${c.user}`, false);
}

export function dispatchVolume(s: StageState, c: VolumeInstruction, err: ErrorContext): void {
  const vols = (s.image.config.Volumes ??= {});
  for (const v of c.volumes) {
    if (v === '') throw planError(err, c.range, 'DOCKERFILE_SYNTAX', 'VOLUME specified can not be an empty string', 'check the variables the VOLUME uses');
    vols[v] = {};
  }
  s.commit(`VOLUME ${goList(c.volumes)}`, false);
}

export function dispatchStopSignal(s: StageState, c: StopsignalInstruction, err: ErrorContext): void {
  try {
    checkSignal(c.signal);
  } catch (e) {
    if (e instanceof SpecError) throw planError(err, c.range, 'DOCKERFILE_SYNTAX', e.message, 'use a signal name like SIGTERM or SIGQUIT, or a number');
    throw e;
  }
  s.image.config.StopSignal = c.signal;
  s.commit(`STOPSIGNAL ${c.signal}`, false);
}

export function dispatchShell(s: StageState, c: ShellInstruction): void {
  s.image.config.Shell = [...c.shell];
  s.commit(`SHELL ${goList(c.shell)}`, false);
}

/**
 * ARG: a `--build-arg` wins; else the default; else, with no default, the global value (meta ARG
 * or automatic platform arg). A value joins the build env (not the config Env). Like Docker 26's
 * BuildKit (0.13's ArgCommand.Expand before dispatchArg), every key and default of the instruction
 * is expanded first, all with the build env from before it: `ARG A=1 B=$A` gives B the earlier A.
 */
export function dispatchArg(s: StageState, c: ArgInstruction, scope: ArgScope, declared: Set<string>): void {
  const before = s.env.lookup;
  const word = (w: string): string => {
    try {
      return scope.lex.processWord(w, before).result;
    } catch (e) {
      throw planError(scope.err, c.range, 'ARG_EXPANSION', (e as Error).message, (e as { details?: { hint?: string } }).details?.hint);
    }
  };
  const expanded = c.args.map((arg) => ({ key: word(arg.key), ...(arg.value !== undefined ? { value: word(arg.value) } : {}) }));
  const parts: string[] = [];
  for (const { key, value: expandedDefault } of expanded) {
    declared.add(key);
    const given = scope.buildArgs.get(key);
    const value = given ?? expandedDefault ?? scope.globals.get(key);
    if (value !== undefined && !NON_ENV_ARGS.has(key)) s.env = s.env.set(key, value);
    s.buildArgs.push(value === undefined ? { key } : { key, value });
    // History shows the instruction's own default, never a --build-arg value (Docker 26's BuildKit;
    // build args may carry credentials): `ARG K` or `ARG K=<default>`.
    parts.push(expandedDefault === undefined ? key : `${key}=${expandedDefault}`);
  }
  s.commit(`ARG ${parts.join(' ')}`, false);
}
