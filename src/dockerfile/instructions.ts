// InstructionNode (ast.ts) → typed Instruction, with BuildKit's argument and flag rules
// (frontend/dockerfile/instructions/parse.go). Errors are KilnErrors at the node's lines.
import type { InstructionNode } from './ast.js';
import { parseAdd, parseCopy } from './copy.js';
import { fail, type NodeContext } from './fail.js';
import { parseFlags } from './flags.js';
import { parseHealthcheck } from './healthcheck.js';
import {
  INSTRUCTION_KINDS,
  type ArgDefinition,
  type ArgInstruction,
  type FromInstruction,
  type Instruction,
  type KeyValue,
  type OnbuildInstruction,
} from './instruction-types.js';
import { argValues, commandLine, fullText } from './node-args.js';
import { parseRun } from './run.js';
import { didYouMean } from './suggest.js';

export interface InstructionSource {
  /** The file's lines (Ast.lines), for error snippets. */
  readonly lines: readonly string[];
  /** The file name for locations (Ast.file). */
  readonly file: string;
}

/** BuildKit's stage-name rule, applied to the lower-cased name. */
export const VALID_STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

/** Types one instruction node. Throws KilnError (UNKNOWN_INSTRUCTION, UNKNOWN_FLAG, INVALID_FLAG, DOCKERFILE_SYNTAX). */
export function parseInstruction(node: InstructionNode, src: InstructionSource): Instruction {
  const ctx: NodeContext = { node, lines: src.lines, file: src.file };
  switch (node.value) {
    case 'from':
      return parseFrom(ctx);
    case 'run':
      return parseRun(ctx);
    case 'cmd':
      parseFlags(ctx, []);
      return { kind: 'CMD', range: node.range, original: fullText(node), command: commandLine(node, argValues(node)) };
    case 'entrypoint':
      parseFlags(ctx, []);
      return { kind: 'ENTRYPOINT', range: node.range, original: fullText(node), command: commandLine(node, argValues(node)) };
    case 'label':
      parseFlags(ctx, []);
      return { kind: 'LABEL', range: node.range, original: fullText(node), labels: keyValues(ctx, 'LABEL') };
    case 'env':
      parseFlags(ctx, []);
      return { kind: 'ENV', range: node.range, original: fullText(node), env: keyValues(ctx, 'ENV') };
    case 'maintainer':
      return { kind: 'MAINTAINER', range: node.range, original: fullText(node), maintainer: exactlyOne(ctx, 'MAINTAINER') };
    case 'expose': {
      const ports = argValues(node);
      if (ports.length === 0) atLeastOne(ctx, 'EXPOSE', 'e.g. EXPOSE 80/tcp');
      parseFlags(ctx, []);
      return { kind: 'EXPOSE', range: node.range, original: fullText(node), ports };
    }
    case 'add':
      return parseAdd(ctx);
    case 'copy':
      return parseCopy(ctx);
    case 'volume': {
      const vols = argValues(node);
      if (vols.length === 0) atLeastOne(ctx, 'VOLUME', 'e.g. VOLUME /data');
      parseFlags(ctx, []);
      const volumes = vols.map((v) => v.trim());
      if (volumes.some((v) => v === '')) fail(ctx, 'DOCKERFILE_SYNTAX', 'VOLUME specified can not be an empty string');
      return { kind: 'VOLUME', range: node.range, original: fullText(node), volumes };
    }
    case 'user':
      return { kind: 'USER', range: node.range, original: fullText(node), user: exactlyOne(ctx, 'USER') };
    case 'workdir':
      return { kind: 'WORKDIR', range: node.range, original: fullText(node), path: exactlyOne(ctx, 'WORKDIR') };
    case 'arg':
      return parseArg(ctx);
    case 'onbuild':
      return parseOnbuild(ctx, src);
    case 'stopsignal':
      return { kind: 'STOPSIGNAL', range: node.range, original: fullText(node), signal: exactlyOne(ctx, 'STOPSIGNAL') };
    case 'healthcheck':
      return parseHealthcheck(ctx);
    case 'shell':
      return parseShell(ctx);
    default: {
      const hint = didYouMean(node.keyword, INSTRUCTION_KINDS, false) ?? `instructions are ${INSTRUCTION_KINDS.join(', ')}`;
      return fail(ctx, 'UNKNOWN_INSTRUCTION', `unknown instruction: ${node.keyword}`, hint);
    }
  }
}

function atLeastOne(ctx: NodeContext, kw: string, hint?: string): never {
  return fail(ctx, 'DOCKERFILE_SYNTAX', `${kw} requires at least one argument`, hint);
}

function exactlyOne(ctx: NodeContext, kw: string): string {
  const args = argValues(ctx.node);
  if (args.length !== 1) fail(ctx, 'DOCKERFILE_SYNTAX', `${kw} requires exactly one argument`);
  parseFlags(ctx, []);
  return args[0]!;
}

function keyValues(ctx: NodeContext, kw: 'ENV' | 'LABEL'): KeyValue[] {
  const args = argValues(ctx.node);
  if (args.length === 0) atLeastOne(ctx, kw, `write ${kw} KEY=value`);
  if (args.length % 3 !== 0) fail(ctx, 'DOCKERFILE_SYNTAX', `Bad input to ${kw}, too many arguments`);
  const out: KeyValue[] = [];
  for (let i = 0; i < args.length; i += 3) {
    const key = args[i]!;
    if (key === '') fail(ctx, 'DOCKERFILE_SYNTAX', `${kw} names can not be blank`);
    out.push({ key, value: args[i + 1]!, legacy: args[i + 2] === '' });
  }
  return out;
}

function parseFrom(ctx: NodeContext): FromInstruction {
  const { node } = ctx;
  const args = argValues(node);
  let name: string | undefined;
  if (args.length === 3 && args[1]!.toLowerCase() === 'as') {
    name = args[2]!.toLowerCase();
    if (!VALID_STAGE_NAME.test(name)) {
      fail(
        ctx,
        'DOCKERFILE_SYNTAX',
        `invalid name for build stage: "${args[2]}", name can't start with a number or contain symbols`,
        'stage names start with a letter and use only letters, digits, -, _ and .',
      );
    }
  } else if (args.length !== 1) {
    fail(ctx, 'DOCKERFILE_SYNTAX', 'FROM requires either one or three arguments', 'write FROM <image> [AS <name>]');
  }
  const flags = parseFlags(ctx, [{ name: 'platform', type: 'string' }]);
  const platform = flags.string('platform');
  return {
    kind: 'FROM',
    range: node.range,
    original: fullText(node),
    base: args[0]!,
    ...(name === undefined ? {} : { name }),
    ...(platform === undefined || platform === '' ? {} : { platform }),
  };
}

function parseArg(ctx: NodeContext): ArgInstruction {
  const args = argValues(ctx.node);
  if (args.length === 0) atLeastOne(ctx, 'ARG', 'write ARG NAME or ARG NAME=default');
  parseFlags(ctx, []);
  const defs: ArgDefinition[] = args.map((a) => {
    const eq = a.indexOf('=');
    if (eq < 0) return { key: a };
    if (eq === 0) fail(ctx, 'DOCKERFILE_SYNTAX', 'ARG names can not be blank');
    return { key: a.slice(0, eq), value: a.slice(eq + 1) };
  });
  return { kind: 'ARG', range: ctx.node.range, original: fullText(ctx.node), args: defs };
}

function parseShell(ctx: NodeContext) {
  const { node } = ctx;
  parseFlags(ctx, []);
  const args = argValues(node);
  if (node.json && args.length > 0) return { kind: 'SHELL' as const, range: node.range, original: fullText(node), shell: args };
  if (args.length === 0) atLeastOne(ctx, 'SHELL', 'write SHELL ["executable", "parameters"]');
  const text = args.join(' ').trim();
  // `SHELL ['/bin/sh', '-c']` or `SHELL ["/bin/sh", "-c"] extra` meant JSON: quoting the pieces back would mislead
  const hint = text.startsWith('[')
    ? 'the argument must be one JSON array of strings in double quotes, with nothing after the closing ] (e.g. SHELL ["/bin/sh", "-c"])'
    : `write SHELL [${text.split(/\s+/).filter(Boolean).map((a) => JSON.stringify(a)).join(', ')}]`;
  return fail(ctx, 'DOCKERFILE_SYNTAX', `SHELL requires the arguments to be in JSON form`, hint);
}

function parseOnbuild(ctx: NodeContext, src: InstructionSource): OnbuildInstruction {
  const { node } = ctx;
  const first = node.args[0];
  if (!first) atLeastOne(ctx, 'ONBUILD', 'write ONBUILD <instruction>');
  parseFlags(ctx, []);
  if (first.kind !== 'instruction') fail(ctx, 'DOCKERFILE_SYNTAX', 'ONBUILD requires an instruction as its argument');
  const trigger = first.node.value.toUpperCase();
  if (trigger === 'ONBUILD') fail(ctx, 'DOCKERFILE_SYNTAX', 'Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
  if (trigger === 'MAINTAINER' || trigger === 'FROM') fail(ctx, 'DOCKERFILE_SYNTAX', `${trigger} isn't allowed as an ONBUILD trigger`);
  const inner = first.node.heredocs.length > 0 || node.heredocs.length === 0 ? first.node : { ...first.node, heredocs: node.heredocs };
  const instruction = parseInstruction(inner, src);
  let expression = node.original.replace(/^\s+/, '');
  for (const h of inner.heredocs) expression += `\n${h.content}${h.name}`;
  return { kind: 'ONBUILD', range: node.range, original: fullText(node), expression, instruction };
}
