// COPY and ADD: flags, sources (paths and heredoc inline files) and the destination (last word).
import { fail, type NodeContext } from './fail.js';
import { chompHeredocContent } from './heredoc.js';
import { parseFlags, type FlagSpec, type ParsedFlags } from './flags.js';
import type { AddInstruction, CopyInstruction, InlineSource } from './instruction-types.js';
import { argValues, fullText, heredocName } from './node-args.js';

const COMMON: readonly FlagSpec[] = [
  { name: 'chown', type: 'string' },
  { name: 'chmod', type: 'string' },
  { name: 'link', type: 'bool' },
  { name: 'exclude', type: 'strings' },
];

const COPY_FLAGS: readonly FlagSpec[] = [...COMMON, { name: 'from', type: 'string' }, { name: 'parents', type: 'bool' }];
const ADD_FLAGS: readonly FlagSpec[] = [
  ...COMMON,
  { name: 'checksum', type: 'string' },
  { name: 'keep-git-dir', type: 'bool' },
  { name: 'unpack', type: 'bool' },
];

interface SourcesAndDest {
  sources: string[];
  inline: InlineSource[];
  dest: string;
}

function sourcesAndDest(ctx: NodeContext, kw: 'COPY' | 'ADD', args: readonly string[]): SourcesAndDest {
  const dest = args[args.length - 1]!;
  if (heredocName(dest) !== undefined) fail(ctx, 'DOCKERFILE_SYNTAX', `${kw} cannot accept a heredoc as a destination`, `put the destination path last: ${kw} <<EOF /path/to/file`);
  const byName = new Map(ctx.node.heredocs.map((h) => [h.name, h]));
  const sources: string[] = [];
  const inline: InlineSource[] = [];
  for (const src of args.slice(0, -1)) {
    const name = heredocName(src);
    if (name === undefined) {
      sources.push(src);
      continue;
    }
    const h = byName.get(name);
    inline.push({ path: name, data: h === undefined ? '' : h.chomp ? chompHeredocContent(h.content) : h.content, expand: h?.expand ?? !/["'\\]/.test(src) });
  }
  return { sources, inline, dest };
}

function checkArgs(ctx: NodeContext, kw: 'COPY' | 'ADD', args: readonly string[]): void {
  if (args.length < 2) {
    fail(
      ctx,
      'DOCKERFILE_SYNTAX',
      `${kw} requires at least two arguments, but ${args.length === 0 ? 'none were' : 'only one was'} provided. Destination could not be determined`,
      `write ${kw} <source>... <destination>`,
    );
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function common(out: { chown?: string; chmod?: string }, flags: ParsedFlags): void {
  const chown = flags.string('chown');
  if (chown !== undefined) out.chown = chown;
  const chmod = flags.string('chmod');
  if (chmod !== undefined) out.chmod = chmod;
}

export function parseCopy(ctx: NodeContext): CopyInstruction {
  const { node } = ctx;
  const args = argValues(node);
  checkArgs(ctx, 'COPY', args);
  const flags = parseFlags(ctx, COPY_FLAGS);
  const from = flags.string('from');
  if (from !== undefined && /\$(\{|[A-Za-z_])/.test(from)) {
    fail(ctx, 'INVALID_FLAG', `variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround`, 'e.g. ARG SRC=alpine / FROM ${SRC} AS src / COPY --from=src ...');
  }
  const sd = sourcesAndDest(ctx, 'COPY', args);
  // built field by field so JSON key order stays: paths, optional flags, booleans, excludes
  const out: Partial<Mutable<CopyInstruction>> = { kind: 'COPY', range: node.range, original: fullText(node), sources: sd.sources, inline: sd.inline, dest: sd.dest };
  if (from !== undefined) out.from = from;
  common(out, flags);
  out.link = flags.bool('link') ?? false;
  out.parents = flags.bool('parents') ?? false;
  out.excludes = flags.strings('exclude');
  return out as CopyInstruction;
}

export function parseAdd(ctx: NodeContext): AddInstruction {
  const { node } = ctx;
  const args = argValues(node);
  checkArgs(ctx, 'ADD', args);
  const flags = parseFlags(ctx, ADD_FLAGS);
  const sd = sourcesAndDest(ctx, 'ADD', args);
  const out: Partial<Mutable<AddInstruction>> = { kind: 'ADD', range: node.range, original: fullText(node), sources: sd.sources, inline: sd.inline, dest: sd.dest };
  common(out, flags);
  out.link = flags.bool('link') ?? false;
  out.excludes = flags.strings('exclude');
  const checksum = flags.string('checksum');
  if (checksum !== undefined) out.checksum = checksum;
  const keepGitDir = flags.bool('keep-git-dir');
  if (keepGitDir !== undefined) out.keepGitDir = keepGitDir;
  const unpack = flags.bool('unpack');
  if (unpack !== undefined) out.unpack = unpack;
  return out as AddInstruction;
}
