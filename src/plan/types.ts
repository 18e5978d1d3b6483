// The build plan: what planBuild() returns and build/ executes. Pure data, every variable already
// expanded, every path already resolved against WORKDIR, so build/ never needs Dockerfile semantics.
import type { SourceRange } from '../errors.js';
import type { ContainerConfig, Digest, History, ImageConfig, Platform } from '../image/index.js';
import type { CommandLine, HealthConfig, NetworkMode, SecurityMode, Stages } from '../dockerfile/index.js';

/** What the user asked for (from `kiln build` flags). */
export interface BuildRequest {
  readonly stages: Stages;
  /** `--target`; default: the last stage. */
  readonly target?: string;
  /** `--build-arg K=V` (a `K` with no `=` takes the value from the caller's environment; cli resolves that). */
  readonly buildArgs: ReadonlyMap<string, string>;
  /** `--platform` (target platform); default: the build platform. */
  readonly targetPlatform: Platform;
  /** The platform kiln runs on. */
  readonly buildPlatform: Platform;
  /** `--label k=v` added to the final image. */
  readonly labels?: ReadonlyMap<string, string>;
  /** The Dockerfile's lines (for error snippets) and name. */
  readonly sourceLines?: readonly string[];
  readonly file?: string;
  /** The Dockerfile's escape token (`# escape=` directive: Ast.directives.escape); default `\`. */
  readonly escapeToken?: '\\' | '`';
  /** How many config, history and RUN env entries the plan may hold (plan/budget.ts; default MAX_PLAN_ENTRIES). */
  readonly maxPlanEntries?: number;
  /**
   * `--build-context NAME=VALUE`, keyed by the name as `contextName` normalises it. A named context
   * replaces, by name, a stage (`FROM … AS NAME`), a base `FROM NAME`, `COPY --from=NAME` and
   * `RUN --mount=from=NAME`, as BuildKit's named contexts do. Unused names are ignored.
   */
  readonly namedContexts?: ReadonlyMap<string, NamedContext>;
  /** What `--add-host`, `--shm-size`, `--ulimit` and `--cgroup-parent` ask of every RUN's container. */
  readonly runContainer?: RunContainerOptions;
  /**
   * `kiln build --network=none`: the network of every RUN that does not choose one with
   * `RUN --network` (BuildKit's force-network-mode sets it on each stage's state).
   */
  readonly network?: 'none';
}

/**
 * Options of every RUN step's container from `kiln build` flags. Like BuildKit's ExecOp meta,
 * they are part of each RUN's key; a build that gives none has none in its steps.
 */
export interface RunContainerOptions {
  /** `--add-host HOST:IP` (IP canonical): extra /etc/hosts lines, in this order. */
  readonly extraHosts?: readonly ExtraHost[];
  /** `--shm-size` in bytes (> 0): the size of /dev/shm; absent = the default 64 MiB. */
  readonly shmSizeBytes?: number;
  /** `--ulimit` entries (one per name, by name). */
  readonly ulimits?: readonly Ulimit[];
  /** `--cgroup-parent`: the cgroup the container goes under. */
  readonly cgroupParent?: string;
}

/** One `--ulimit NAME=SOFT[:HARD]` (go-units' names: nofile, nproc, core, ...); -1 = unlimited. */
export interface Ulimit {
  readonly name: string;
  readonly soft: number;
  readonly hard: number;
}

/** One `--add-host` entry: BuildKit writes `IP<tab>HOST` after its default /etc/hosts lines. */
export interface ExtraHost {
  readonly host: string;
  readonly ip: string;
}

/** What a `--build-context` name stands for (cli turns oci-layout:// into an image ref its resolver knows). */
export type NamedContext =
  /** A local directory (absolute path): its files, after its own `.dockerignore`. */
  | { readonly kind: 'local'; readonly dir: string }
  /** An image, resolved by the same ResolveImage as base images (`scratch`: an empty filesystem). */
  | { readonly kind: 'image'; readonly ref: string };

/** A base image resolved by the injected resolver: pinned digest plus its config. */
export interface ResolvedImage {
  /** The reference as the resolver normalised it (e.g. `docker.io/library/node:20`). */
  readonly ref: string;
  /** Manifest digest (what the cache keys on, never the tag). */
  readonly digest: Digest;
  readonly config: ImageConfig;
}

/** plan/'s one I/O need, injected (cli wires it to the store/registry; tests fake it). */
export type ResolveImage = (ref: string, platform: Platform, signal?: AbortSignal) => Promise<ResolvedImage>;

/** Where a stage's root filesystem starts. */
export type StageBase =
  | { readonly kind: 'scratch' }
  | { readonly kind: 'image'; readonly image: ResolvedImage }
  /** `FROM <earlier stage>`: that stage's final filesystem. */
  | { readonly kind: 'stage'; readonly stage: number }
  /** A named local context (`--build-context NAME=DIR`): the directory's files as the root filesystem. */
  | LocalSource;

/** A named local build context: `name` as the user gave it, `dir` absolute. */
export interface LocalSource {
  readonly kind: 'local';
  readonly name: string;
  readonly dir: string;
}

/** Where COPY --from / RUN --mount from reads: the context, a stage, or an image (by ref, resolved). */
export type Source =
  | { readonly kind: 'context' }
  | { readonly kind: 'stage'; readonly stage: number }
  | { readonly kind: 'image'; readonly image: ResolvedImage }
  /** A named local context: read like the build context, with that directory's `.dockerignore`. */
  | LocalSource;

export interface StepBase {
  /** The instruction as it should be displayed (`RUN npm ci`, `COPY --from=builder /app/dist ./dist`). */
  readonly display: string;
  readonly location: SourceRange;
  /** History `created_by` for this step, like BuildKit writes it. */
  readonly createdBy: string;
}

export interface RunMountPlan {
  readonly type: 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';
  /**
   * Absolute path in the container (relative targets are joined to WORKDIR). Secret: default
   * `/run/secrets/<id>`, '' when it is exposed only as `env`; ssh: default `/run/buildkit/ssh_agent.N`.
   */
  readonly target: string;
  /** bind/cache: where the content comes from (bind default: context). */
  readonly from?: Source;
  /** bind from=scratch: an empty directory (never the context). */
  readonly empty?: true;
  /** Path inside `from` (bind, cache with from). */
  readonly source?: string;
  readonly readOnly: boolean;
  readonly id?: string;
  readonly sharing?: 'shared' | 'private' | 'locked';
  readonly required: boolean;
  readonly size?: number;
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly env?: string;
}

export interface RunStep extends StepBase {
  readonly kind: 'run';
  /** Final argv (shell form already wrapped in the stage's SHELL; heredocs folded in like BuildKit). */
  readonly argv: readonly string[];
  /** Heredoc files to provide (BuildKit mounts a single `#!` heredoc as an executable file). */
  readonly files: readonly { readonly path: string; readonly content: string; readonly mode: number }[];
  /** KEY=VALUE: image ENV + ARGs in scope (+ proxy build args), in order, later wins. */
  readonly env: readonly string[];
  /**
   * The predefined proxy build args appended to `env` (HTTP_PROXY=…), when any: like BuildKit,
   * they reach the step but stay out of its cache key and history.
   */
  readonly proxyEnv?: readonly string[];
  /** Absolute working directory. */
  readonly cwd: string;
  /** `USER` as written after expansion (`name`, `uid`, `name:group`); '' = root. Resolved in the rootfs by build/. */
  readonly user: string;
  readonly network: NetworkMode;
  readonly security: SecurityMode;
  readonly mounts: readonly RunMountPlan[];
  /** The build's RunContainerOptions; absent when it gives none, so other builds' keys stay as they were. */
  readonly container?: RunContainerOptions;
  /** `K=V` per ARG declaration of this stage so far, repeats kept (history/cache: `|N K=V ...`). */
  readonly buildArgs: readonly string[];
}

export interface CopyStep extends StepBase {
  readonly kind: 'copy';
  readonly add: boolean;
  readonly from: Source;
  /** Source paths (context-relative or absolute in the source stage/image), expanded, wildcards kept. */
  readonly sources: readonly string[];
  /** Heredoc sources: file name + (expanded) content. */
  readonly inline: readonly { readonly path: string; readonly data: string }[];
  /** Absolute destination; ends with `/` when the user wrote a trailing slash (a directory). */
  readonly dest: string;
  readonly chown?: string;
  readonly chmod?: string;
  readonly link: boolean;
  readonly parents: boolean;
  readonly excludes: readonly string[];
  /** ADD only. */
  readonly checksum?: string;
  readonly unpack?: boolean;
  readonly keepGitDir?: boolean;
}

/** WORKDIR creates the directory (owned by the current USER's uid/gid when it doesn't exist). */
export interface MkdirStep extends StepBase {
  readonly kind: 'workdir';
  readonly path: string;
  readonly user: string;
}

export type Step = RunStep | CopyStep | MkdirStep;

export interface PlannedStage {
  readonly index: number;
  /** Display name: the `AS` name, else `stage-N`. */
  readonly name: string;
  readonly base: StageBase;
  readonly platform: Platform;
  /** Filesystem-changing steps, in order. */
  readonly steps: readonly Step[];
  /**
   * The stage's final image config (ENV, CMD, ...), BuildKit-shaped. Its `history` is the base's
   * history (image or stage) followed by this stage's entries, without `created`; `rootfs.diff_ids`
   * is empty (build/ fills both in).
   */
  readonly config: ImageConfig;
  /**
   * One entry per instruction THIS stage records in history (the tail of `config.history`), in order; `step` is the index in
   * `steps` when it changed the filesystem (so a layer goes with it), else undefined (empty_layer).
   */
  readonly history: readonly { readonly entry: History; readonly step?: number }[];
  /** Stage indexes this stage needs done first (base stage, COPY --from, --mount from). */
  readonly dependsOn: readonly number[];
  readonly range: SourceRange;
  /** The FROM instruction's lines (errors about the base image point there). */
  readonly fromRange: SourceRange;
}

export interface BuildPlan {
  /** Only the stages the target reaches, in file order. */
  readonly stages: readonly PlannedStage[];
  /** Index (in the Dockerfile) of the target stage. */
  readonly target: number;
  /** Stage indexes NOT built because the target doesn't reach them (for reports/graphs). */
  readonly pruned: readonly number[];
  /** Warnings such as unused build args, in BuildKit's words. */
  readonly warnings: readonly string[];
}

export type { ContainerConfig, HealthConfig, CommandLine };
