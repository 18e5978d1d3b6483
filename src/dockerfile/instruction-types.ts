// The typed Dockerfile instructions (BuildKit's instructions package, as data). Every field
// holds RAW, unexpanded words; `plan/` expands the fields listed in EXPANDABLE_FIELDS with
// shell.ts (see expand.ts), exactly where BuildKit's Expand/ExpandRaw methods do.
import type { SourceRange } from '../errors.js';
import type { RunMount } from './mount.js';

export const INSTRUCTION_KINDS = [
  'FROM', 'RUN', 'CMD', 'LABEL', 'MAINTAINER', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT',
  'VOLUME', 'USER', 'WORKDIR', 'ARG', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL',
] as const;

export type InstructionKind = (typeof INSTRUCTION_KINDS)[number];

interface Base<K extends InstructionKind> {
  readonly kind: K;
  readonly range: SourceRange;
  /** The whole instruction as written, keyword included, continuations joined. */
  readonly original: string;
}

/** A key/value pair of ENV or LABEL. `legacy`: the old `KEY value` form (no `=`). */
export interface KeyValue {
  readonly key: string;
  readonly value: string;
  readonly legacy: boolean;
}

/** `ARG name[=default]`: `value` is absent when there is no `=`. */
export interface ArgDefinition {
  readonly key: string;
  readonly value?: string;
}

/**
 * A command line of RUN/CMD/ENTRYPOINT/HEALTHCHECK CMD. `exec`: a JSON array, run as is;
 * `shell`: one string (`args[0]`) to run through the stage's SHELL.
 */
export interface CommandLine {
  readonly form: 'exec' | 'shell';
  readonly args: readonly string[];
}

/** A heredoc file attached to RUN (BuildKit's ShellInlineFile). Content as written; `chomp` (`<<-`) is applied where BuildKit applies it. */
export interface HeredocFile {
  readonly name: string;
  readonly content: string;
  /** False when the delimiter was quoted: the content is not expanded. */
  readonly expand: boolean;
  readonly chomp: boolean;
  readonly fileDescriptor?: number;
}

/** A COPY/ADD source given inline as a heredoc (BuildKit's SourceContent). */
export interface InlineSource {
  /** The heredoc name, used as the file name. */
  readonly path: string;
  readonly data: string;
  readonly expand: boolean;
}

export type NetworkMode = 'default' | 'none' | 'host';
export type SecurityMode = 'sandbox' | 'insecure';

export interface FromInstruction extends Base<'FROM'> {
  /** The base image or stage name, unexpanded (may use meta ARGs). */
  readonly base: string;
  /** Stage name, lower-cased (`AS name`). */
  readonly name?: string;
  /** `--platform`, unexpanded. */
  readonly platform?: string;
}

export interface RunInstruction extends Base<'RUN'> {
  readonly command: CommandLine;
  readonly heredocs: readonly HeredocFile[];
  readonly mounts: readonly RunMount[];
  readonly network: NetworkMode;
  readonly security: SecurityMode;
  /** Flag names given (`mount`, `network`, `security`), in order. */
  readonly flagsUsed: readonly string[];
}

export interface CmdInstruction extends Base<'CMD'> {
  readonly command: CommandLine;
}

export interface EntrypointInstruction extends Base<'ENTRYPOINT'> {
  /** `ENTRYPOINT []` gives an exec form with no args (it resets the entrypoint). */
  readonly command: CommandLine;
}

export interface LabelInstruction extends Base<'LABEL'> {
  readonly labels: readonly KeyValue[];
}

export interface MaintainerInstruction extends Base<'MAINTAINER'> {
  readonly maintainer: string;
}

export interface ExposeInstruction extends Base<'EXPOSE'> {
  /** Ports as written (`80`, `53/udp`, `$PORT`, `8000-8010`). */
  readonly ports: readonly string[];
}

export interface EnvInstruction extends Base<'ENV'> {
  readonly env: readonly KeyValue[];
}

interface CopyLike {
  /** Source paths/URLs (heredoc sources are in `inline`). */
  readonly sources: readonly string[];
  readonly inline: readonly InlineSource[];
  readonly dest: string;
  readonly chown?: string;
  readonly chmod?: string;
  readonly link: boolean;
  /** `--exclude` patterns, in order. */
  readonly excludes: readonly string[];
}

export interface AddInstruction extends Base<'ADD'>, CopyLike {
  readonly checksum?: string;
  /** `--keep-git-dir`: undefined when not given. */
  readonly keepGitDir?: boolean;
  /** `--unpack`: undefined when not given (ADD then unpacks local archives only). */
  readonly unpack?: boolean;
}

export interface CopyInstruction extends Base<'COPY'>, CopyLike {
  /** `--from`: a stage name, stage index or image (never expanded, like BuildKit). */
  readonly from?: string;
  readonly parents: boolean;
}

export interface VolumeInstruction extends Base<'VOLUME'> {
  readonly volumes: readonly string[];
}

export interface UserInstruction extends Base<'USER'> {
  /** `user[:group]` as written. */
  readonly user: string;
}

export interface WorkdirInstruction extends Base<'WORKDIR'> {
  readonly path: string;
}

export interface ArgInstruction extends Base<'ARG'> {
  readonly args: readonly ArgDefinition[];
}

export interface OnbuildInstruction extends Base<'ONBUILD'> {
  /** The trigger's text as it goes into the image config (`ONBUILD` stripped, heredocs appended). */
  readonly expression: string;
  /** The trigger, typed. */
  readonly instruction: Instruction;
}

export interface StopsignalInstruction extends Base<'STOPSIGNAL'> {
  readonly signal: string;
}

/** Durations are nanoseconds (Go time.Duration); 0 or absent means "inherit the default". */
export interface HealthConfig {
  /** `["NONE"]`, `["CMD", ...args]` (exec form) or `["CMD-SHELL", "cmd"]`. */
  readonly test: readonly string[];
  readonly interval?: number;
  readonly timeout?: number;
  readonly startPeriod?: number;
  readonly startInterval?: number;
  readonly retries?: number;
}

export interface HealthcheckInstruction extends Base<'HEALTHCHECK'> {
  readonly health: HealthConfig;
}

export interface ShellInstruction extends Base<'SHELL'> {
  readonly shell: readonly string[];
}

export type Instruction =
  | FromInstruction
  | RunInstruction
  | CmdInstruction
  | LabelInstruction
  | MaintainerInstruction
  | ExposeInstruction
  | EnvInstruction
  | AddInstruction
  | CopyInstruction
  | EntrypointInstruction
  | VolumeInstruction
  | UserInstruction
  | WorkdirInstruction
  | ArgInstruction
  | OnbuildInstruction
  | StopsignalInstruction
  | HealthcheckInstruction
  | ShellInstruction;

/** The instruction of a given kind. */
export type InstructionOf<K extends InstructionKind> = Extract<Instruction, { kind: K }>;

/** A build stage: its FROM and the instructions up to the next FROM. */
export interface Stage {
  /** Stage name (lower-cased), when the FROM has `AS name`. */
  readonly name?: string;
  /** 0-based position among the stages (usable as `COPY --from=<index>`). */
  readonly index: number;
  /** The FROM's base, raw (may reference meta ARGs or another stage). */
  readonly base: string;
  /** `FROM --platform`, raw. */
  readonly platform?: string;
  /** Instructions after FROM (FROM itself excluded). */
  readonly instructions: readonly Instruction[];
  /** From the FROM's first line to the stage's last instruction's last line. */
  readonly range: SourceRange;
  /** The FROM instruction itself. */
  readonly from: FromInstruction;
}

export interface Stages {
  /** ARGs before the first FROM (global scope: usable in FROM lines). */
  readonly metaArgs: readonly ArgInstruction[];
  readonly stages: readonly Stage[];
}
