// Build arguments: the automatic platform args (BuildKit's defaultArgs), the meta ARGs before the
// first FROM (buildMetaArgs), the predefined proxy args, and the "not consumed" warning.
import type { ArgInstruction, ShellLex } from '../dockerfile/index.js';
import type { Platform } from '../image/index.js';
import { EnvList } from './env.js';
import { located, type ErrorContext } from './fail.js';

/** containerd's platforms.Format: os/arch[/variant]. */
export function formatPlatformShort(p: Platform): string {
  if (!p.os) return 'unknown';
  return [p.os, p.architecture, p.variant].filter((s) => s !== undefined && s !== '').join('/');
}

/** containerd's platforms.FormatAll: like Format, with `(os.version[+features])` after the OS. */
export function formatPlatformAll(p: Platform): string {
  if (!p.os) return 'unknown';
  const v = p['os.version'] ?? '';
  const f = (p['os.features'] ?? []).join('+');
  const os = v || f ? `${p.os}(${v}${f ? '+' + f : ''})` : p.os;
  return [os, p.architecture, p.variant].filter((s) => s !== undefined && s !== '').join('/');
}

export const PLATFORM_ARGS = [
  'BUILDPLATFORM', 'BUILDOS', 'BUILDOSVERSION', 'BUILDARCH', 'BUILDVARIANT',
  'TARGETPLATFORM', 'TARGETOS', 'TARGETOSVERSION', 'TARGETARCH', 'TARGETVARIANT', 'TARGETSTAGE',
] as const;

/**
 * The automatic platform args, in BuildKit's order; a `--build-arg` of the same name replaces the
 * value. `target`: the target stage's name as requested (or the last stage's name), '' → "default".
 */
export function defaultArgs(build: Platform, target: Platform, buildArgs: ReadonlyMap<string, string>, targetName: string): EnvList {
  const values: [string, string][] = [
    ['BUILDPLATFORM', formatPlatformShort(build)],
    ['BUILDOS', build.os],
    ['BUILDOSVERSION', build['os.version'] ?? ''],
    ['BUILDARCH', build.architecture],
    ['BUILDVARIANT', build.variant ?? ''],
    ['TARGETPLATFORM', formatPlatformAll(target)],
    ['TARGETOS', target.os],
    ['TARGETOSVERSION', target['os.version'] ?? ''],
    ['TARGETARCH', target.architecture],
    ['TARGETVARIANT', target.variant ?? ''],
    ['TARGETSTAGE', targetName === '' ? 'default' : targetName],
  ];
  return EnvList.fromPairs(values.map(([k, v]) => [k, buildArgs.get(k) ?? v] as const));
}

/** The global scope after the meta ARGs (BuildKit 0.13's optMetaArgs: platform args, then meta ARGs). */
export interface GlobalArgs {
  /** For expanding meta ARG defaults, FROM and FROM --platform: a meta ARG without a value reads as ''. */
  readonly env: EnvList;
  /** What a stage's `ARG K` without default (nor --build-arg) takes: undefined when the last meta ARG K has no value. */
  get(key: string): string | undefined;
}

/**
 * The meta ARGs as Docker 26's BuildKit (0.13) applies them: each takes its `--build-arg` value,
 * else its default expanded with the scope so far, else NO value, which replaces an earlier value
 * of that name (even an automatic platform arg: `ARG TARGETARCH` before FROM makes it '' for FROM
 * and leaves a stage's `ARG TARGETARCH` without value). dockerfile/1.9 keeps the earlier value.
 */
export function buildMetaArgs(
  platformArgs: EnvList,
  lex: ShellLex,
  metaArgs: readonly ArgInstruction[],
  buildArgs: ReadonlyMap<string, string>,
  ctx: ErrorContext,
): GlobalArgs {
  let args = platformArgs;
  const valueless = new Set<string>();
  for (const cmd of metaArgs) {
    for (const kp of cmd.args) {
      let value = buildArgs.get(kp.key);
      if (value === undefined && kp.value !== undefined) {
        const raw = kp.value;
        const scope = args;
        value = located(ctx, cmd.range, () => lex.processWord(raw, scope.lookup).result);
      }
      args = args.set(kp.key, value ?? '');
      if (value === undefined) valueless.add(kp.key);
      else valueless.delete(kp.key);
    }
  }
  const env = args;
  return { env, get: (key) => (valueless.has(key) ? undefined : env.get(key)) };
}

const PROXY_KEYS = ['http_proxy', 'https_proxy', 'ftp_proxy', 'no_proxy', 'all_proxy'] as const;

/** True for the predefined proxy args (any case, like BuildKit's strings.EqualFold). */
export function isProxyArg(key: string): boolean {
  return (PROXY_KEYS as readonly string[]).includes(key.toLowerCase());
}

/**
 * The env BuildKit's executor adds to every RUN from proxy `--build-arg`s (declared or not):
 * `HTTP_PROXY=v`, `http_proxy=v`, ... in a fixed order. Keys are visited sorted, so when both
 * cases are given the lower-case one (sorting last) wins, as in proxyEnvFromBuildArgs.
 */
export function proxyEnv(buildArgs: ReadonlyMap<string, string>): string[] {
  const picked = new Map<string, string>();
  for (const k of [...buildArgs.keys()].sort()) {
    const lower = k.toLowerCase();
    if ((PROXY_KEYS as readonly string[]).includes(lower)) picked.set(lower, buildArgs.get(k)!);
  }
  const out: string[] = [];
  for (const k of PROXY_KEYS) {
    const v = picked.get(k);
    if (v) out.push(`${k.toUpperCase()}=${v}`, `${k}=${v}`);
  }
  return out;
}

/** Build args used by kiln/BuildKit themselves: never reported as unused. */
function isBuiltinArg(key: string): boolean {
  return isProxyArg(key) || (PLATFORM_ARGS as readonly string[]).includes(key) || key === 'SOURCE_DATE_EPOCH' || key.startsWith('BUILDKIT_');
}

/** Docker's warning for `--build-arg`s that no meta ARG nor ARG of a built stage declares. */
export function unusedBuildArgsWarning(buildArgs: ReadonlyMap<string, string>, declared: ReadonlySet<string>): string | undefined {
  const left = [...buildArgs.keys()].filter((k) => !declared.has(k) && !isBuiltinArg(k)).sort();
  return left.length === 0 ? undefined : `[Warning] One or more build-args [${left.join(' ')}] were not consumed`;
}
