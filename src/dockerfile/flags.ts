// Instruction flags (`--name[=value]`), parsed with BuildKit's BFlags rules: every flag must be
// declared by the instruction, a bool takes no value or true/false, a string needs `=value`,
// only `strings` flags may repeat, and a bare `--` ends the flags.
import { fail, type NodeContext } from './fail.js';
import { didYouMean } from './suggest.js';

type FlagType = 'bool' | 'string' | 'strings';

export interface FlagSpec {
  readonly name: string;
  readonly type: FlagType;
}

/** The result of parsing one instruction's flags against its declared flag names. */
export class ParsedFlags {
  private readonly values = new Map<string, string[]>();

  /** Flag names in the order they were first given (do not mutate). */
  readonly used: string[] = [];

  add(name: string, value: string): void {
    const v = this.values.get(name);
    if (v) v.push(value);
    else {
      this.values.set(name, [value]);
      this.used.push(name);
    }
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  /** A string flag's value, or undefined when not given. */
  string(name: string): string | undefined {
    return this.values.get(name)?.[0];
  }

  /** All values of a repeatable flag (empty when not given). */
  strings(name: string): string[] {
    return this.values.get(name) ?? [];
  }

  /** A bool flag: undefined when not given, else its value. */
  bool(name: string): boolean | undefined {
    const v = this.values.get(name)?.[0];
    return v === undefined ? undefined : v === 'true';
  }
}

/**
 * Parses `ctx.node.flags` (or `flags`) against `specs`. Unknown flag → UNKNOWN_FLAG (with a
 * "did you mean" hint); a missing/bad value or a repeated single flag → INVALID_FLAG.
 */
const NO_FLAGS = new ParsedFlags();

export function parseFlags(ctx: NodeContext, specs: readonly FlagSpec[], flags: readonly string[] = ctx.node.flags): ParsedFlags {
  if (flags.length === 0) return NO_FLAGS;
  const out = new ParsedFlags();
  const kw = ctx.node.keyword.toUpperCase();
  for (const a of flags) {
    if (a === '--') break;
    if (!a.startsWith('--')) fail(ctx, 'INVALID_FLAG', `${kw}: flag should start with --: ${a}`);
    const eq = a.indexOf('=');
    const flagName = eq < 0 ? a : a.slice(0, eq);
    const hasValue = eq >= 0;
    const value = hasValue ? a.slice(eq + 1) : '';
    const name = flagName.slice(2);
    const spec = specs.find((s) => s.name === name);
    if (!spec) {
      const names = specs.map((s) => s.name);
      const hint =
        didYouMean(name, names, true, '--') ??
        (names.length === 0 ? `${kw} takes no flags` : `${kw} accepts ${names.map((n) => `--${n}`).join(', ')}`);
      fail(ctx, 'UNKNOWN_FLAG', `unknown flag: ${flagName}`, hint);
    }
    if (out.has(name) && spec.type !== 'strings') fail(ctx, 'INVALID_FLAG', `duplicate flag specified: ${flagName}`);
    switch (spec.type) {
      case 'bool': {
        if (hasValue && value === '') fail(ctx, 'INVALID_FLAG', `missing a value on flag: ${flagName}`, `use ${flagName} or ${flagName}=true|false`);
        const l = value.toLowerCase();
        if (l === 'true' || l === '') out.add(name, 'true');
        else if (l === 'false') out.add(name, 'false');
        else fail(ctx, 'INVALID_FLAG', `expecting boolean value for flag ${flagName}, not: ${value}`, `use ${flagName} or ${flagName}=true|false`);
        break;
      }
      case 'string':
      case 'strings':
        if (!hasValue) fail(ctx, 'INVALID_FLAG', `missing a value on flag: ${flagName}`, `write it as ${flagName}=VALUE`);
        out.add(name, value);
        break;
    }
  }
  return out;
}
