// A stage while it is being planned (BuildKit's dispatchState): its image config, the build
// state's env, ARGs in scope, steps and history; how it starts from scratch, an image or an
// earlier stage; and the final, BuildKit-shaped ImageConfig.
import type { History, ImageConfig, Platform } from '../image/index.js';
import { normalizePlatform } from '../image/index.js';
import type { HealthConfig } from '../dockerfile/index.js';
import type { ResolvedImage, Step } from './types.js';
import { EnvList, parseKeyValue } from './env.js';
import { normalizeWorkdir } from './paths.js';

export const HISTORY_COMMENT = 'buildkit.dockerfile.v0';
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The container config while planning (Go's DockerOCIImageConfig, mutable). */
export interface WorkingConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ArgsEscaped?: boolean;
  Healthcheck?: { Test?: readonly string[]; Interval?: number; Timeout?: number; StartPeriod?: number; StartInterval?: number; Retries?: number };
  OnBuild?: string[];
  Shell?: string[];
}

export interface BuildArg {
  readonly key: string;
  readonly value?: string;
}

export interface WorkingImage {
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  osVersion?: string;
  config: WorkingConfig;
  history: History[];
}

export class StageState {
  env = EnvList.empty();
  /** This stage's ARG declarations in order, repeats kept (BuildKit's d.buildArgs; RUN history's `|N` list). */
  buildArgs: BuildArg[] = [];
  workdirSet = false;
  /** CMD was given in this stage (ENTRYPOINT then keeps it). */
  cmdSet = false;
  readonly steps: Step[] = [];
  readonly newHistory: { entry: History; step?: number }[] = [];
  readonly dependsOn = new Set<number>();

  constructor(
    readonly index: number,
    readonly name: string,
    public platform: Platform,
    public image: WorkingImage,
  ) {}

  /** BuildKit's commitToHistory (`withLayer`: the last step made a layer; `buildkit`: add `# buildkit`). */
  commit(createdBy: string, withLayer: boolean, buildkitSuffix = false): void {
    const entry: Mutable<History> = { created_by: buildkitSuffix ? `${createdBy} # buildkit` : createdBy, comment: HISTORY_COMMENT };
    if (!withLayer) entry.empty_layer = true;
    this.image.history.push(entry);
    this.newHistory.push(withLayer ? { entry, step: this.steps.length - 1 } : { entry });
  }

  /** The working directory for RUN/COPY (`/` when none). */
  get dir(): string {
    return this.image.config.WorkingDir || '/';
  }
}

function cloneConfig(c: WorkingConfig): WorkingConfig {
  const out: WorkingConfig = { ...c, Env: [...c.Env] };
  if (c.ExposedPorts) out.ExposedPorts = { ...c.ExposedPorts };
  if (c.Entrypoint) out.Entrypoint = [...c.Entrypoint];
  if (c.Cmd) out.Cmd = [...c.Cmd];
  if (c.Volumes) out.Volumes = { ...c.Volumes };
  if (c.Labels) out.Labels = { ...c.Labels };
  if (c.Healthcheck) out.Healthcheck = { ...c.Healthcheck, ...(c.Healthcheck.Test ? { Test: [...c.Healthcheck.Test] } : {}) };
  if (c.OnBuild) out.OnBuild = [...c.OnBuild];
  if (c.Shell) out.Shell = [...c.Shell];
  return out;
}

export function cloneImage(img: WorkingImage): WorkingImage {
  // history entries are never changed once made (assemble copies what it stamps): shared, so a
  // chain of stages, each FROM the one before, costs a pointer per entry and stage, not an object
  return { ...img, config: cloneConfig(img.config), history: [...img.history] };
}

/** BuildKit's emptyImage: what `FROM scratch` starts with. */
export function scratchImage(p: Platform): WorkingImage {
  return {
    architecture: p.architecture,
    os: p.os,
    ...(p.variant ? { variant: p.variant } : {}),
    ...(p['os.version'] ? { osVersion: p['os.version'] } : {}),
    config: { Env: p.os === 'windows' ? [] : [`PATH=${DEFAULT_PATH}`], WorkingDir: '/' },
    history: [],
  };
}

/** A resolved base image's config as the starting point (its `created` dropped). */
export function imageFromResolved(r: ResolvedImage): WorkingImage {
  const c = r.config.config ?? {};
  const config: WorkingConfig = { Env: [...(c.Env ?? [])] };
  if (c.User) config.User = c.User;
  if (c.ExposedPorts && Object.keys(c.ExposedPorts).length) config.ExposedPorts = { ...c.ExposedPorts };
  if (c.Entrypoint?.length) config.Entrypoint = [...c.Entrypoint];
  if (c.Cmd?.length) config.Cmd = [...c.Cmd];
  if (c.Volumes && Object.keys(c.Volumes).length) config.Volumes = { ...c.Volumes };
  if (c.WorkingDir) config.WorkingDir = c.WorkingDir;
  if (c.Labels && Object.keys(c.Labels).length) config.Labels = { ...c.Labels };
  if (c.StopSignal) config.StopSignal = c.StopSignal;
  if (c.ArgsEscaped) config.ArgsEscaped = true;
  if (c.Healthcheck) config.Healthcheck = { ...c.Healthcheck, ...(c.Healthcheck.Test ? { Test: [...c.Healthcheck.Test] } : {}) };
  if (c.OnBuild?.length) config.OnBuild = [...c.OnBuild];
  if (c.Shell?.length) config.Shell = [...c.Shell];
  return {
    ...(r.config.author ? { author: r.config.author } : {}),
    architecture: r.config.architecture,
    os: r.config.os,
    ...(r.config.variant ? { variant: r.config.variant } : {}),
    ...(r.config['os.version'] ? { osVersion: r.config['os.version'] } : {}),
    config,
    history: (r.config.history ?? []).map((h) => {
      const { created: _created, ...rest } = h;
      return rest;
    }),
  };
}

/**
 * What dispatchStages does before the first instruction: PATH always set (not on Windows), the
 * image's Env into the build env (in order, after whatever the base stage's env had), and the
 * image's WorkingDir normalised (BuildKit's dispatchWorkdir without commit).
 */
export function initStageEnv(s: StageState): void {
  const cfg = s.image.config;
  if (s.platform.os !== 'windows' && !cfg.Env.some((e) => parseKeyValue(e)[0] === 'PATH')) cfg.Env.push(`PATH=${DEFAULT_PATH}`);
  for (const e of cfg.Env) {
    const [k, v] = parseKeyValue(e);
    s.env = s.env.set(k, v);
  }
  if (cfg.WorkingDir) cfg.WorkingDir = normalizeWorkdir(cfg.WorkingDir, cfg.WorkingDir);
}

/** HEALTHCHECK → the config's Healthcheck (zero values omitted, as Go's omitempty does). */
export function toDockerHealth(h: HealthConfig): NonNullable<WorkingConfig['Healthcheck']> {
  return {
    Test: [...h.test],
    ...(h.interval ? { Interval: h.interval } : {}),
    ...(h.timeout ? { Timeout: h.timeout } : {}),
    ...(h.startPeriod ? { StartPeriod: h.startPeriod } : {}),
    ...(h.startInterval ? { StartInterval: h.startInterval } : {}),
    ...(h.retries ? { Retries: h.retries } : {}),
  };
}

const nonEmpty = <T>(a: readonly T[] | undefined): a is readonly T[] => a !== undefined && a.length > 0;
const nonEmptyMap = (m: object | undefined): boolean => m !== undefined && Object.keys(m).length > 0;

/** The stage's final ImageConfig, keys in Go struct order, empty values omitted like omitempty. */
export function finalConfig(s: StageState, labels?: ReadonlyMap<string, string>): ImageConfig {
  const c = s.image.config;
  let allLabels = c.Labels;
  if (labels && labels.size > 0) allLabels = { ...(c.Labels ?? {}), ...Object.fromEntries(labels) };
  const config: Record<string, unknown> = {};
  if (c.User) config['User'] = c.User;
  if (nonEmptyMap(c.ExposedPorts)) config['ExposedPorts'] = c.ExposedPorts;
  if (nonEmpty(c.Env)) config['Env'] = c.Env;
  if (nonEmpty(c.Entrypoint)) config['Entrypoint'] = c.Entrypoint;
  if (nonEmpty(c.Cmd)) config['Cmd'] = c.Cmd;
  if (nonEmptyMap(c.Volumes)) config['Volumes'] = c.Volumes;
  if (c.WorkingDir) config['WorkingDir'] = c.WorkingDir;
  if (nonEmptyMap(allLabels)) config['Labels'] = allLabels;
  if (c.StopSignal) config['StopSignal'] = c.StopSignal;
  if (c.ArgsEscaped) config['ArgsEscaped'] = true;
  if (c.Healthcheck) config['Healthcheck'] = c.Healthcheck;
  if (nonEmpty(c.OnBuild)) config['OnBuild'] = c.OnBuild;
  if (nonEmpty(c.Shell)) config['Shell'] = c.Shell;
  const p = normalizePlatform(s.platform);
  const out: Record<string, unknown> = {};
  if (s.image.author) out['author'] = s.image.author;
  out['architecture'] = p.architecture;
  out['os'] = p.os;
  if (p['os.version']) out['os.version'] = p['os.version'];
  if (p['os.features']) out['os.features'] = p['os.features'];
  if (p.variant) out['variant'] = p.variant;
  out['config'] = config;
  out['rootfs'] = { type: 'layers', diff_ids: [] };
  out['history'] = s.image.history;
  return out as unknown as ImageConfig;
}
