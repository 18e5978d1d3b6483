// HEALTHCHECK [--interval --timeout --start-period --start-interval --retries] CMD ... | NONE,
// with BuildKit's checks: durations in Go syntax, each 0 or at least 1ms; retries a non-negative int32.
import { parseGoDuration, NANOS } from './duration.js';
import { fail, type NodeContext } from './fail.js';
import { parseFlags, type FlagSpec } from './flags.js';
import type { HealthConfig, HealthcheckInstruction } from './instruction-types.js';
import { argValues, commandLine, fullText } from './node-args.js';

const DURATION_FLAGS = [
  ['interval', 'interval'],
  ['timeout', 'timeout'],
  ['start-period', 'startPeriod'],
  ['start-interval', 'startInterval'],
] as const;

const FLAGS: readonly FlagSpec[] = [...DURATION_FLAGS.map(([name]) => ({ name, type: 'string' as const })), { name: 'retries', type: 'string' }];

export function parseHealthcheck(ctx: NodeContext): HealthcheckInstruction {
  const { node } = ctx;
  const args = argValues(node);
  const base = { kind: 'HEALTHCHECK' as const, range: node.range, original: fullText(node) };
  if (args.length === 0) fail(ctx, 'DOCKERFILE_SYNTAX', 'HEALTHCHECK requires at least one argument', 'write HEALTHCHECK CMD <command> or HEALTHCHECK NONE');
  const typ = args[0]!.toUpperCase();
  const rest = args.slice(1);
  if (typ === 'NONE') {
    if (rest.length !== 0) fail(ctx, 'DOCKERFILE_SYNTAX', 'HEALTHCHECK NONE takes no arguments');
    parseFlags(ctx, FLAGS); // BuildKit ignores flags on NONE; we still reject unknown or malformed ones
    return { ...base, health: { test: ['NONE'] } };
  }
  const flags = parseFlags(ctx, FLAGS);
  if (typ !== 'CMD') fail(ctx, 'DOCKERFILE_SYNTAX', `Unknown type "${args[0]}" in HEALTHCHECK (try CMD)`, 'write HEALTHCHECK CMD <command> or HEALTHCHECK NONE');
  const cmd = commandLine(node, rest);
  if (cmd.args.length === 0) fail(ctx, 'DOCKERFILE_SYNTAX', 'Missing command after HEALTHCHECK CMD');
  const health: { -readonly [K in keyof HealthConfig]: HealthConfig[K] } = {
    test: [cmd.form === 'exec' ? 'CMD' : 'CMD-SHELL', ...cmd.args],
  };
  for (const [flag, field] of DURATION_FLAGS) {
    const v = flags.string(flag);
    if (v === undefined || v === '') continue;
    let ns: number;
    try {
      ns = parseGoDuration(v);
    } catch (e) {
      fail(ctx, 'INVALID_FLAG', `--${flag}: ${(e as Error).message}`, 'durations look like 30s, 1m30s, 500ms');
    }
    if (ns !== 0 && ns < NANOS.millisecond) fail(ctx, 'INVALID_FLAG', `Interval "${flag}" cannot be less than 1ms`, 'use 0 (the default) or at least 1ms');
    if (ns !== 0) health[field] = ns;
  }
  const r = flags.string('retries');
  if (r !== undefined && r !== '') {
    if (!/^[+-]?\d+$/.test(r)) fail(ctx, 'INVALID_FLAG', `--retries: invalid number "${r}"`, '--retries takes a whole number, e.g. --retries=3');
    const n = Number(r);
    if (n > 2147483647 || n < -2147483648) fail(ctx, 'INVALID_FLAG', `--retries: value out of range "${r}"`);
    if (n < 0) fail(ctx, 'INVALID_FLAG', `--retries cannot be negative (${n})`);
    health.retries = n;
  }
  return { ...base, health };
}
