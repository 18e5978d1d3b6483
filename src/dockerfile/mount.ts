// `RUN --mount=type=bind|cache|tmpfs|secret|ssh,...`: CSV fields (Go encoding/csv rules, as
// BuildKit's csvvalue) of key=value options, checked like BuildKit's parseMount. Values are raw:
// a value holding `$` is checked only after expansion (resolveMount, called by plan/).
import { didYouMean } from './suggest.js';

export type MountType = 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';
export type CacheSharing = 'shared' | 'private' | 'locked';

export const MOUNT_TYPES: readonly MountType[] = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'];
export const CACHE_SHARING: readonly CacheSharing[] = ['shared', 'private', 'locked'];

const ALL_KEYS = [
  'type', 'from', 'source', 'target', 'readonly', 'id', 'sharing', 'required', 'size', 'mode', 'uid', 'gid',
  'src', 'dst', 'destination', 'ro', 'rw', 'readwrite', 'env',
];

export interface RunMount {
  /** The `--mount` value as written (re-parsed with expansion by resolveMount). */
  readonly raw: string;
  /** Provisional (`bind`) while `deferred` and the type itself uses a variable. */
  readonly type: MountType;
  /** target/dst/destination. */
  readonly target?: string;
  /** source/src. */
  readonly source?: string;
  /** Stage name/index or image to mount from (bind, cache). */
  readonly from?: string;
  /** Explicit ro/rw, else bind/secret/ssh are read-only and cache/tmpfs writable. */
  readonly readOnly: boolean;
  /** `id` (cache id, secret id, ssh id). */
  readonly id?: string;
  readonly sharing?: CacheSharing;
  /** secret/ssh: fail when not provided. */
  readonly required: boolean;
  /** tmpfs size in bytes. */
  readonly size?: number;
  /** File mode (given in octal). */
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  /** secret: expose as this environment variable. */
  readonly env?: string;
  /** True when some typed option uses a variable: checks wait for resolveMount. */
  readonly deferred?: true;
}

/** A bad --mount value; callers turn it into a located KilnError('INVALID_FLAG'). */
export class MountSpecError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** Splits one CSV record like Go's encoding/csv (no lazy quotes, no space trimming). */
export function csvFields(line: string): string[] {
  const out: string[] = [];
  let s = line.replace(/\r?\n$/, '');
  if (s === '') return out;
  let pos = 0;
  for (;;) {
    if (s === '' || s[0] !== '"') {
      const i = s.indexOf(',');
      const field = i >= 0 ? s.slice(0, i) : s;
      const q = field.indexOf('"');
      if (q >= 0) throw new MountSpecError(`failed to parse csv mounts: parse error on column ${pos + q + 1}: bare " in non-quoted-field`, 'quote the whole field: "key=value with, comma"');
      out.push(field);
      if (i < 0) return out;
      s = s.slice(i + 1);
      pos += i + 1;
      continue;
    }
    s = s.slice(1);
    pos += 1;
    let field = '';
    for (;;) {
      const i = s.indexOf('"');
      if (i < 0) throw new MountSpecError(`failed to parse csv mounts: parse error on column ${pos + 1}: extraneous or missing " in quoted-field`);
      field += s.slice(0, i);
      s = s.slice(i + 1);
      pos += i + 1;
      if (s[0] === '"') {
        field += '"';
        s = s.slice(1);
        pos += 1;
        continue;
      }
      if (s[0] === ',') {
        out.push(field);
        s = s.slice(1);
        pos += 1;
        break;
      }
      if (s === '') {
        out.push(field);
        return out;
      }
      throw new MountSpecError(`failed to parse csv mounts: parse error on column ${pos}: extraneous or missing " in quoted-field`);
    }
  }
}

function parseBool(v: string): boolean | undefined {
  // Go strconv.ParseBool
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

function parseUint(v: string, base: 8 | 10): number | undefined {
  const re = base === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!re.test(v.replace(/_/g, '')) || /^_|_$|__/.test(v)) return undefined;
  const n = parseInt(v.replace(/_/g, ''), base);
  return n <= 0xffffffff ? n : undefined;
}

/** docker/go-units RAMInBytes: `64m`, `1.5GiB`, `512` (binary multiples). */
export function ramInBytes(v: string): number | undefined {
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(v);
  if (!m) return undefined;
  const n = Number(m[1]);
  if (!Number.isFinite(n)) return undefined;
  const exp = m[2] ? 'kmgtp'.indexOf(m[2].toLowerCase()) + 1 : 0;
  return Math.trunc(n * 1024 ** exp);
}

const hasVar = (v: string): boolean => v.includes('$');

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Parses one `--mount` value. Without `expand`, values are taken raw and a typed option (type,
 * ro, size, mode...) holding `$` is left for later (the mount is `deferred`). With `expand`,
 * every value is expanded first and fully checked (BuildKit's RunCommand.Expand).
 */
export function parseMountSpec(raw: string, expand?: (word: string) => string): RunMount {
  const m: Mutable<RunMount> = { raw, type: 'bind', readOnly: true, required: false };
  if (raw.trim() === '') throw new MountSpecError('empty mount value', 'e.g. --mount=type=cache,target=/root/.cache');
  let roAuto = true;
  let deferred = false;
  let typeDeferred = false;
  const unexpected = (key: string): never => {
    throw new MountSpecError(`unexpected key '${key}' for mount type '${m.type}'`);
  };
  const badValue = (key: string, value: string): never => {
    throw new MountSpecError(`invalid value for ${key}: ${value}`);
  };
  for (const field of csvFields(raw)) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    if (eq < 0) {
      switch (key) {
        case 'readonly':
        case 'ro':
          m.readOnly = true;
          roAuto = false;
          continue;
        case 'readwrite':
        case 'rw':
          m.readOnly = false;
          roAuto = false;
          continue;
        case 'required':
          if (m.type !== 'secret' && m.type !== 'ssh' && !typeDeferred) unexpected(key);
          m.required = true;
          continue;
        default:
          throw new MountSpecError(`invalid field '${field}' must be a key=value pair`, ALL_KEYS.includes(key) ? `write ${key}=VALUE` : undefined);
      }
    }
    let value = field.slice(eq + 1);
    if (expand) value = expand(value);
    else if (key === 'from') {
      const i = value.indexOf('$');
      if (i >= 0 && i !== value.length - 1) throw new MountSpecError(`'from' doesn't support variable expansion, define alias stage instead`);
    }
    const typed = !expand && hasVar(value);
    switch (key) {
      case 'type': {
        if (typed) {
          deferred = true;
          typeDeferred = true; // the type-specific checks wait for the expanded re-parse, as BuildKit's do
          break;
        }
        const t = value.toLowerCase() as MountType;
        if (!MOUNT_TYPES.includes(t)) throw new MountSpecError(`unsupported mount type "${value}"`, hintFor(value, MOUNT_TYPES) ?? `use one of ${MOUNT_TYPES.join(', ')}`);
        m.type = t;
        break;
      }
      case 'from':
        m.from = value;
        break;
      case 'source':
      case 'src':
        m.source = value;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.target = value;
        break;
      case 'readonly':
      case 'ro':
      case 'readwrite':
      case 'rw': {
        roAuto = false;
        if (typed) {
          deferred = true;
          break;
        }
        const b = parseBool(value);
        if (b === undefined) badValue(key, value);
        m.readOnly = key === 'readonly' || key === 'ro' ? b! : !b;
        break;
      }
      case 'required': {
        if (m.type !== 'secret' && m.type !== 'ssh' && !typeDeferred) unexpected(key);
        if (typed) {
          deferred = true;
          break;
        }
        const b = parseBool(value);
        if (b === undefined) badValue(key, value);
        m.required = b!;
        break;
      }
      case 'size': {
        if (m.type !== 'tmpfs' && !typeDeferred) unexpected(key);
        if (typed) {
          deferred = true;
          break;
        }
        const n = ramInBytes(value);
        if (n === undefined) badValue(key, value);
        m.size = n!;
        break;
      }
      case 'id':
        m.id = value;
        break;
      case 'sharing': {
        if (typed) {
          deferred = true;
          break;
        }
        const s = value.toLowerCase() as CacheSharing;
        if (!CACHE_SHARING.includes(s)) throw new MountSpecError(`unsupported sharing value "${value}"`, hintFor(value, CACHE_SHARING) ?? `use one of ${CACHE_SHARING.join(', ')}`);
        m.sharing = s;
        break;
      }
      case 'mode':
      case 'uid':
      case 'gid': {
        if (typed) {
          deferred = true;
          break;
        }
        const n = parseUint(value, key === 'mode' ? 8 : 10);
        if (n === undefined) throw new MountSpecError(`invalid value ${value} for ${key}`, key === 'mode' ? 'mode is octal, e.g. mode=0400' : `${key} is a number`);
        m[key] = n;
        break;
      }
      case 'env':
        m.env = value;
        break;
      default:
        throw new MountSpecError(`unexpected key '${key}' in '${field}'`, hintFor(key, ALL_KEYS));
    }
  }
  if (roAuto) m.readOnly = !(m.type === 'cache' || m.type === 'tmpfs');
  if (deferred) {
    m.deferred = true;
    return m;
  }
  if (!(m.type === 'secret' || m.type === 'ssh' || m.type === 'cache')) {
    for (const k of ['mode', 'uid', 'gid'] as const) {
      if (m[k] !== undefined) throw new MountSpecError(`${k} not allowed for "${m.type}" type mounts`);
    }
  }
  if (m.type === 'secret') {
    if (m.from !== undefined && m.from !== '') throw new MountSpecError('secret mount should not have a from');
    if (m.sharing !== undefined) throw new MountSpecError('secret mount should not define sharing');
    if (!m.source && !m.target && !m.id) throw new MountSpecError('invalid secret mount. one of source, target required', 'e.g. --mount=type=secret,id=mytoken');
    if (m.source && m.id) throw new MountSpecError("both source and id can't be set");
  }
  if (m.sharing !== undefined && m.type !== 'cache') throw new MountSpecError(`invalid cache sharing set for ${m.type} mount`);
  if (m.type === 'ssh' && m.source) throw new MountSpecError('ssh does not support source', 'give the agent socket to the build with --ssh ID=PATH and name it with id=ID');
  return m;
}

/** Re-parses a mount with its values expanded (for plan/, after ARG/ENV are known). */
export function resolveMount(m: RunMount, expand: (word: string) => string): RunMount {
  return parseMountSpec(m.raw, expand);
}

function hintFor(value: string, options: readonly string[]): string | undefined {
  return didYouMean(value, options);
}
