// `--change` for `kiln import` (docker import/commit semantics): each value is a one-line
// Dockerfile instruction, parsed by dockerfile/ and applied to the image's runtime config.
// Supported: CMD ENTRYPOINT ENV EXPOSE HEALTHCHECK LABEL ONBUILD STOPSIGNAL USER VOLUME WORKDIR
// (Docker's commit set). Values are expanded with the ENV set so far, as `docker import` does.
import { posix } from 'node:path';
import { KilnError } from '../../errors.js';
import { ShellLex, expandInstruction, parse, parseInstruction, type Instruction, type CommandLine } from '../../dockerfile/index.js';
import type { ContainerConfig } from '../../image/index.js';
import { toDockerHealth } from '../../plan/index.js';

export const CHANGE_INSTRUCTIONS = ['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'HEALTHCHECK', 'LABEL', 'ONBUILD', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR'] as const;

const DEFAULT_SHELL = ['/bin/sh', '-c'];

type Mutable = {
  -readonly [K in keyof ContainerConfig]: ContainerConfig[K];
};

function envMap(env: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const kv of env) {
    const i = kv.indexOf('=');
    m.set(i < 0 ? kv : kv.slice(0, i), i < 0 ? '' : kv.slice(i + 1));
  }
  return m;
}

function command(c: CommandLine, shell: readonly string[]): string[] {
  return c.form === 'exec' ? [...c.args] : [...shell, c.args[0] ?? ''];
}

/** Docker's nat.ParsePortSpec subset for EXPOSE: `80`, `80/udp`, `8000-8002/tcp`. */
export function exposedPorts(spec: string): string[] {
  const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(spec.trim());
  if (!m) throw new KilnError('USAGE', `--change EXPOSE: invalid port ${JSON.stringify(spec)}`, { hint: 'use PORT, PORT/PROTO or FROM-TO/PROTO, e.g. 80/tcp' });
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo > 65535 || hi > 65535 || hi < lo) throw new KilnError('USAGE', `--change EXPOSE: invalid port range ${JSON.stringify(spec)}`);
  const proto = (m[3] ?? 'tcp').toLowerCase();
  const out: string[] = [];
  for (let p = lo; p <= hi; p++) out.push(`${p}/${proto}`);
  return out;
}


/** Parses the `--change` values into typed instructions (errors point at the value). */
export function parseChanges(values: readonly string[]): Instruction[] {
  const out: Instruction[] = [];
  values.forEach((value, i) => {
    const file = `--change #${i + 1}`;
    const ast = parse(value, { file });
    for (const node of ast.instructions) {
      const ins = parseInstruction(node, { lines: ast.lines, file });
      if (!(CHANGE_INSTRUCTIONS as readonly string[]).includes(ins.kind)) {
        throw new KilnError('USAGE', `${ins.kind} is not supported by --change`, {
          hint: `--change accepts ${CHANGE_INSTRUCTIONS.join(', ')}`,
        });
      }
      out.push(ins);
    }
  });
  return out;
}

/** Applies `--change` values to a runtime config, returning a new config. */
export function applyChanges(base: ContainerConfig, values: readonly string[]): ContainerConfig {
  const c: Mutable = { ...base };
  const lex = new ShellLex();
  let cmdSet = false;
  for (const raw of parseChanges(values)) {
    const env = envMap(c.Env ?? []);
    const ins = expandInstruction(raw, (w) => lex.processWord(w, env).result, { expandWords: (w) => lex.processWords(w, env).words });
    const shell = c.Shell && c.Shell.length ? c.Shell : DEFAULT_SHELL;
    switch (ins.kind) {
      case 'CMD':
        c.Cmd = command(ins.command, shell);
        cmdSet = true;
        break;
      case 'ENTRYPOINT':
        c.Entrypoint = command(ins.command, shell);
        if (ins.command.form === 'exec' && ins.command.args.length === 0) c.Entrypoint = null;
        if (!cmdSet) c.Cmd = null;
        break;
      case 'ENV': {
        const list = [...(c.Env ?? [])];
        for (const { key, value } of ins.env) {
          const at = list.findIndex((kv) => kv === key || kv.startsWith(`${key}=`));
          if (at >= 0) list[at] = `${key}=${value}`;
          else list.push(`${key}=${value}`);
        }
        c.Env = list;
        break;
      }
      case 'EXPOSE': {
        const ports: Record<string, Record<string, never>> = { ...(c.ExposedPorts ?? {}) };
        for (const p of ins.ports) for (const e of exposedPorts(p)) ports[e] = {};
        c.ExposedPorts = ports;
        break;
      }
      case 'LABEL': {
        const labels: Record<string, string> = { ...(c.Labels ?? {}) };
        for (const { key, value } of ins.labels) labels[key] = value;
        c.Labels = labels;
        break;
      }
      case 'USER':
        c.User = ins.user;
        break;
      case 'VOLUME': {
        const vols: Record<string, Record<string, never>> = { ...(c.Volumes ?? {}) };
        for (const v of ins.volumes) {
          const t = v.trim();
          if (t === '') throw new KilnError('USAGE', '--change VOLUME: a volume cannot be an empty string');
          vols[t] = {};
        }
        c.Volumes = vols;
        break;
      }
      case 'WORKDIR':
        if (ins.path === '') throw new KilnError('USAGE', '--change WORKDIR: the path cannot be empty');
        c.WorkingDir = ins.path.startsWith('/') ? ins.path : posix.join('/', c.WorkingDir ?? '', ins.path);
        break;
      case 'STOPSIGNAL':
        if (ins.signal.trim() === '') throw new KilnError('USAGE', '--change STOPSIGNAL: the signal cannot be empty');
        c.StopSignal = ins.signal;
        break;
      case 'HEALTHCHECK':
        c.Healthcheck = toDockerHealth(ins.health);
        break;
      case 'ONBUILD':
        c.OnBuild = [...(c.OnBuild ?? []), ins.expression];
        break;
      default:
        throw new KilnError('INTERNAL', `unhandled --change instruction ${ins.kind}`);
    }
  }
  // Go marshals maps with sorted keys: so does Docker's config
  if (c.ExposedPorts) c.ExposedPorts = sortKeys(c.ExposedPorts);
  if (c.Volumes) c.Volumes = sortKeys(c.Volumes);
  if (c.Labels) c.Labels = sortKeys(c.Labels);
  return c;
}

function sortKeys<T>(o: Readonly<Record<string, T>>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k]!;
  return out;
}
