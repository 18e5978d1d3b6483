// Which instruction fields take variable expansion, and a pure helper that applies an expander
// to exactly those (BuildKit's Expand/ExpandRaw). plan/ supplies the expanders (shell.ts with the
// stage's ARG/ENV); this module knows nothing about variables.
import type { Instruction, InstructionKind } from './instruction-types.js';
import { KilnError } from '../errors.js';
import { MountSpecError, resolveMount } from './mount.js';

/** Expands one word (`$VAR`, `${VAR:-x}`, quotes removed), or throws. */
export type WordExpander = (word: string) => string;

/**
 * The fields plan/ expands, per instruction. Everything else (RUN/CMD/ENTRYPOINT/SHELL command
 * lines, HEALTHCHECK, MAINTAINER, ONBUILD, COPY --from, COPY/ADD --chmod, --network, --security)
 * stays literal: command lines are expanded by the shell at run time. BuildKit (0.13 and later)
 * expands --chown and ADD --checksum but never --chmod: `--chmod=$MODE` stays `$MODE`.
 */
export const EXPANDABLE_FIELDS: { readonly [K in InstructionKind]: readonly string[] } = {
  FROM: ['base', 'platform'], // with the meta ARGs only
  RUN: ['mounts'], // each --mount option value (resolveMount)
  CMD: [],
  LABEL: ['labels[].key', 'labels[].value'],
  MAINTAINER: [],
  EXPOSE: ['ports'], // word-split: one port word may expand to several
  ENV: ['env[].key', 'env[].value'],
  ADD: ['sources', 'dest', 'chown', 'checksum', 'inline[].data (raw: quotes kept, only when expand)'],
  COPY: ['sources', 'dest', 'chown', 'inline[].data (raw: quotes kept, only when expand)'],
  ENTRYPOINT: [],
  VOLUME: ['volumes'],
  USER: ['user'],
  WORKDIR: ['path'],
  ARG: ['args[].key', 'args[].value'],
  ONBUILD: [],
  STOPSIGNAL: ['signal'],
  HEALTHCHECK: [],
  SHELL: [],
};

export interface ExpandOptions {
  /** For heredoc file contents (BuildKit's ExpandRaw: a lexer that keeps quotes). Default: contents untouched. */
  readonly expandRaw?: WordExpander;
  /** For EXPOSE (ProcessWords: may split). Default: `[expand(word)]`. */
  readonly expandWords?: (word: string) => string[];
  /** The Dockerfile's lines (Ast.lines): an expander's KilnError without a location gets the instruction's. */
  readonly sourceLines?: readonly string[];
}

const opt = (v: string | undefined, f: WordExpander): string | undefined => (v === undefined ? undefined : f(v));

function defined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/** A copy of `ins` with its EXPANDABLE_FIELDS expanded. */
export function expandInstruction<T extends Instruction>(ins: T, expand: WordExpander, opts: ExpandOptions = {}): T {
  try {
    return expandAny(ins, expand, opts) as T;
  } catch (e) {
    if (e instanceof MountSpecError) {
      throw new KilnError('INVALID_FLAG', `--mount: ${e.message}`, {
        location: [ins.range],
        ...(opts.sourceLines ? { sourceLines: opts.sourceLines } : {}),
        ...(e.hint === undefined ? {} : { hint: e.hint }),
      });
    }
    if (e instanceof KilnError && !e.location) throw e.with({ location: [ins.range], ...(opts.sourceLines ? { sourceLines: opts.sourceLines } : {}) });
    throw e;
  }
}

function expandAny(i: Instruction, expand: WordExpander, opts: ExpandOptions): Instruction {
  switch (i.kind) {
    case 'FROM':
      return defined({ ...i, base: expand(i.base), platform: opt(i.platform, expand) });
    case 'RUN':
      return { ...i, mounts: i.mounts.map((m) => resolveMount(m, expand)) };
    case 'LABEL':
      return { ...i, labels: i.labels.map((kv) => ({ ...kv, key: expand(kv.key), value: expand(kv.value) })) };
    case 'ENV':
      return { ...i, env: i.env.map((kv) => ({ ...kv, key: expand(kv.key), value: expand(kv.value) })) };
    case 'EXPOSE': {
      const words = opts.expandWords ?? ((w: string) => [expand(w)]);
      return { ...i, ports: i.ports.flatMap((p) => words(p)) };
    }
    case 'ADD':
    case 'COPY': {
      const raw = opts.expandRaw;
      const common = {
        sources: i.sources.map(expand),
        dest: expand(i.dest),
        chown: opt(i.chown, expand),
        inline: raw ? i.inline.map((s) => (s.expand ? { ...s, data: raw(s.data) } : s)) : i.inline,
      };
      if (i.kind === 'ADD') return defined({ ...i, ...common, checksum: opt(i.checksum, expand) });
      return defined({ ...i, ...common });
    }
    case 'VOLUME':
      return { ...i, volumes: i.volumes.map(expand) };
    case 'USER':
      return { ...i, user: expand(i.user) };
    case 'WORKDIR':
      return { ...i, path: expand(i.path) };
    case 'ARG':
      return { ...i, args: i.args.map((a) => (a.value === undefined ? { key: expand(a.key) } : { key: expand(a.key), value: expand(a.value) })) };
    case 'STOPSIGNAL':
      return { ...i, signal: expand(i.signal) };
    case 'CMD':
    case 'MAINTAINER':
    case 'ENTRYPOINT':
    case 'ONBUILD':
    case 'HEALTHCHECK':
    case 'SHELL':
      return i;
  }
}
