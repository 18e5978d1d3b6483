// RUN: --mount (repeatable), --network, --security; shell or exec form; heredoc files.
import type { NodeContext } from './fail.js';
import { fail } from './fail.js';
import { parseFlags, type FlagSpec } from './flags.js';
import type { HeredocFile, NetworkMode, RunInstruction, SecurityMode } from './instruction-types.js';
import { MountSpecError, parseMountSpec, type RunMount } from './mount.js';
import { argValues, commandLine, fullText } from './node-args.js';
import { didYouMean } from './suggest.js';

const NETWORKS: readonly NetworkMode[] = ['default', 'none', 'host'];
const SECURITY: readonly SecurityMode[] = ['sandbox', 'insecure'];

const FLAGS: readonly FlagSpec[] = [
  { name: 'mount', type: 'strings' },
  { name: 'network', type: 'string' },
  { name: 'security', type: 'string' },
];

export function parseRun(ctx: NodeContext): RunInstruction {
  const { node } = ctx;
  const flags = parseFlags(ctx, FLAGS);
  const network = flags.string('network') ?? 'default';
  if (!NETWORKS.includes(network as NetworkMode)) {
    fail(ctx, 'INVALID_FLAG', `invalid network mode "${network}"`, didYouMean(network, NETWORKS) ?? `use one of ${NETWORKS.join(', ')}`);
  }
  const security = flags.string('security') ?? 'sandbox';
  if (!SECURITY.includes(security as SecurityMode)) {
    fail(ctx, 'INVALID_FLAG', `security "${security}" is not valid`, didYouMean(security, SECURITY) ?? `use one of ${SECURITY.join(', ')}`);
  }
  const mounts: RunMount[] = [];
  for (const raw of flags.strings('mount')) {
    try {
      mounts.push(parseMountSpec(raw));
    } catch (e) {
      if (!(e instanceof MountSpecError)) throw e;
      fail(ctx, 'INVALID_FLAG', `--mount=${raw}: ${e.message}`, e.hint);
    }
  }
  const args = argValues(node);
  // A bare `RUN` is accepted, as by Docker 26's BuildKit: the shell runs an empty command
  // (`/bin/sh -c ""`). Only an empty exec form (`RUN []`) has nothing to run.
  if (node.json && args.length === 0 && node.heredocs.length === 0) fail(ctx, 'DOCKERFILE_SYNTAX', 'RUN requires at least one argument', 'write RUN <command> or RUN ["executable", "arg"...]');
  const heredocs: HeredocFile[] = node.heredocs.map((h) => ({
    name: h.name,
    content: h.content,
    expand: h.expand,
    chomp: h.chomp,
    ...(h.fileDescriptor === undefined ? {} : { fileDescriptor: h.fileDescriptor }),
  }));
  return {
    kind: 'RUN',
    range: node.range,
    original: fullText(node),
    command: commandLine(node, args),
    heredocs,
    mounts,
    network: network as NetworkMode,
    security: security as SecurityMode,
    flagsUsed: [...flags.used],
  };
}
