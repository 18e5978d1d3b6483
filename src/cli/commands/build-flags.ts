// Parsing of `kiln build`'s docker-compatible flag values (build args, labels, tags, outputs,
// secrets, ssh) into what the plan and the engine take. Bad values are USAGE errors (exit 125).
export const collect = (v: string, prev: string[]): string[] => [...prev, v];

import { existsSync, lstatSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Option } from 'commander';
import { KilnError } from '../../errors.js';
import { readAtMost } from '../../support/index.js';
import { formatReference, parseNormalizedReference } from '../../registry/index.js';
import { formatPlatform, parsePlatform, type Platform } from '../../image/index.js';
import { MAX_SECRET_BYTES, secretTooBig, type SecretSource } from '../../build/index.js';
import { decodeDockerfile } from '../../dockerfile/index.js';

/**
 * The Dockerfile's text (`-` = stdin), or docker's message for why it cannot be read:
 * `failed to read dockerfile: open X: no such file or directory` / `read X: is a directory`.
 */
/**
 * A build file (the Dockerfile, a .dockerignore) that is a symlink must stay in its own
 * directory: BuildKit reads it through a source rooted there, so a link to /etc/shadow is "not
 * found" for docker build. kiln refuses it before reading a byte, so a syntax error can never
 * show the target's lines.
 */
function refuseOutsideLink(path: string, what: string): void {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return; // absent: the caller reports it
  }
  if (!st.isSymbolicLink()) return;
  let target: string;
  try {
    target = realpathSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ELOOP') return; // dangling: as absent
    throw new KilnError('CONTEXT_PATH_NOT_FOUND', `failed to read ${what}: ${path}: too many levels of symbolic links`, {
      hint: 'point the link at an existing file, or put the file itself in place',
    });
  }
  const dir = realpathSync(dirname(path));
  if (target !== dir && !target.startsWith(dir.endsWith('/') ? dir : `${dir}/`)) {
    throw new KilnError('CONTEXT_PATH_OUTSIDE', `failed to read ${what}: ${path} is a symlink to ${target}, outside ${dirname(path)}`, {
      hint: `docker build does not follow it either: copy the file into place${what === 'dockerfile' ? ', or name it with -f' : ''}`,
    });
  }
}

/**
 * The largest Dockerfile kiln reads (from a file or stdin): far above any real one, and low
 * enough that the densest text (one-line LABELs, ~180 bytes of memory per byte) plans within
 * Node's heap; 200 MB of them ran it out of memory and crashed.
 */
export const MAX_DOCKERFILE_BYTES = 16 * 1024 * 1024;

const tooBig = (path: string): KilnError =>
  new KilnError('USAGE', `failed to read dockerfile: ${path} is larger than ${MAX_DOCKERFILE_BYTES / 1024 / 1024} MiB`, {
    hint: '-f takes a Dockerfile; put large data in the build context and COPY it',
  });

/** Standard input, up to `max` bytes (undefined past it: `-f - </dev/zero` must not fill memory). */
function readStdinAtMost(max: number): Buffer | undefined {
  try {
    return readAtMost('/dev/stdin', max);
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code !== 'ENXIO') throw e;
  }
  const bytes = readFileSync(0); // a socket, which /dev/stdin cannot open: no size to trust, rare
  return bytes.length > max ? undefined : bytes;
}

/** The Dockerfile's text (strict UTF-8: an invalid byte is an error at its line); `name` is how errors name it. */
export function readDockerfile(path: string, name = 'Dockerfile'): string {
  if (path !== '-') refuseOutsideLink(path, 'dockerfile');
  try {
    const bytes = path === '-' ? readStdinAtMost(MAX_DOCKERFILE_BYTES) : readAtMost(path, MAX_DOCKERFILE_BYTES);
    if (bytes === undefined) throw tooBig(path === '-' ? 'stdin' : path);
    return decodeDockerfile(bytes, name);
  } catch (e) {
    if (e instanceof KilnError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'EISDIR' ? `read ${path}: is a directory` : code === 'EACCES' ? `open ${path}: permission denied` : `open ${path}: no such file or directory`;
    throw new KilnError('CONTEXT_PATH_NOT_FOUND', `failed to read dockerfile: ${why}`, {
      cause: e,
      hint: code === 'EISDIR' ? '-f takes the Dockerfile itself, not its directory' : 'pass the Dockerfile with -f, or put one at the root of the context',
    });
  }
}

/**
 * A .dockerignore's text, or undefined when there is none. A link out of its directory is refused;
 * so is anything but a regular file (opening a FIFO would wait forever for a writer) and a file
 * over the Dockerfile's size limit.
 */
export function readIgnoreFile(path: string): string | undefined {
  refuseOutsideLink(path, '.dockerignore');
  const fail = (why: string, cause?: unknown) =>
    new KilnError('CONTEXT_PATH_NOT_FOUND', `failed to read ${path}: ${why}`, { cause, hint: 'a .dockerignore is a text file of patterns, one per line' });
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw fail('is a directory');
    if (!st.isFile()) throw fail(`is not a regular file (${st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : 'a device'})`);
    const bytes = readAtMost(path, MAX_DOCKERFILE_BYTES);
    if (bytes === undefined) throw fail(`larger than ${MAX_DOCKERFILE_BYTES / 1024 / 1024} MiB`);
    return bytes.toString('utf8');
  } catch (e) {
    if (e instanceof KilnError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw fail((e as Error).message, e);
  }
}

export function notImplemented(flag: string, hint: string): never {
  throw new KilnError('NOT_IMPLEMENTED', `${flag} is not supported by this version of kiln`, { hint });
}

/** `K=V`, or `K` alone = the value of K in kiln's environment (skipped when unset), like docker. */
export function parseBuildArgs(list: readonly string[], env: NodeJS.ProcessEnv): Map<string, string> {
  const out = new Map<string, string>();
  for (const a of list) {
    const eq = a.indexOf('=');
    if (eq === 0) throw new KilnError('USAGE', `invalid --build-arg ${JSON.stringify(a)}: the name is empty`);
    if (eq < 0) {
      const v = env[a];
      if (v !== undefined) out.set(a, v);
    } else out.set(a.slice(0, eq), a.slice(eq + 1));
  }
  return out;
}

export function parseLabels(list: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of list) {
    const eq = l.indexOf('=');
    out.set(eq < 0 ? l : l.slice(0, eq), eq < 0 ? '' : l.slice(eq + 1));
  }
  return out;
}

/** A normalised store name for `-t`: `app` → `docker.io/library/app:latest`. */
/** A `-t` value → its fully qualified store name; an invalid one is a USAGE error. */
export function tagName(tag: string): string {
  let ref;
  try {
    ref = parseNormalizedReference(tag);
  } catch (e: unknown) {
    throw new KilnError('USAGE', `invalid tag ${JSON.stringify(tag)}: ${e instanceof Error ? e.message : String(e)}`, {
      hint: 'tags look like name[:tag], e.g. -t myapp:1.0',
    });
  }
  // a name@digest would claim a digest the image does not have: docker build and docker tag
  // refuse it with these words
  if (ref.digest !== undefined) {
    throw new KilnError('USAGE', `invalid tag ${JSON.stringify(tag)}: refusing to create a tag with a digest reference`, {
      hint: 'tags look like name[:tag], e.g. -t myapp:1.0; an image gets its digest from its content',
    });
  }
  return formatReference(ref);
}

/**
 * The attributes each --output type takes in kiln, with the values it accepts where not free
 * (undefined: any). BuildKit's exporters know more (compression-level, annotation.*, unpack,
 * rewrite-timestamp, ...): those fail loudly here, they are never dropped.
 */
const OUTPUT_ATTRS: Readonly<Record<string, Readonly<Record<string, readonly string[] | undefined>>>> = {
  local: { type: undefined, dest: undefined },
  tar: { type: undefined, dest: undefined },
  image: { type: undefined, name: undefined, push: ['true', 'false'] },
  registry: { type: undefined, name: undefined, push: ['true'] },
  docker: { type: undefined, dest: undefined, name: undefined },
  oci: { type: undefined, dest: undefined, name: undefined, tar: ['true'], compression: ['gzip'], 'oci-mediatypes': ['true'] },
};

/** Checks one parsed --output against what kiln implements (see OUTPUT_ATTRS). */
export function checkOutput(o: Readonly<Record<string, string>>): void {
  const type = o['type'] ?? '';
  const attrs = OUTPUT_ATTRS[type];
  if (type === '') {
    throw new KilnError('USAGE', `invalid --output ${Object.entries(o).map(([k, v]) => `${k}=${v}`).join(',')}: type= is missing`, {
      hint: 'name the kind of output, e.g. --output type=local,dest=./out or --output type=tar,dest=image.tar (a bare --output PATH means type=local)',
    });
  }
  if (attrs === undefined) notImplemented(`--output type=${type || '?'}`, 'use type=local|tar|image|oci|docker (dest=… for a file or directory, - for stdout), or `kiln save` after the build');
  for (const [k, v] of Object.entries(o)) {
    if (!(k in attrs)) notImplemented(`--output type=${type} ${k}=…`, `type=${type} takes ${Object.keys(attrs).filter((a) => a !== 'type').join(', ')}`);
    const allowed = attrs[k];
    if (allowed !== undefined && !allowed.includes(v)) notImplemented(`--output type=${type} ${k}=${v}`, `kiln writes ${k}=${allowed.join('|')} only`);
  }
  if (type !== 'image' && type !== 'registry' && !o['dest']) throw new KilnError('USAGE', `--output type=${type} needs dest=…`);
  if (o['name'] !== undefined) tagName(o['name']);
}

/**
 * One `--output` value as buildx reads it: key=value pairs, or a bare path (type=local). A local
 * output to `-` (stdout, `-o -`) is a tar of the same files.
 */
export function outputSpec(s: string): Record<string, string> {
  const kv: Record<string, string> = {};
  for (const part of s.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) {
      if (!s.includes('=')) return s === '-' ? { type: 'tar', dest: '-' } : { type: 'local', dest: s };
      throw new KilnError('USAGE', `invalid --output ${JSON.stringify(s)}: expected key=value pairs`);
    }
    kv[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  if (kv['type'] === 'local' && kv['dest'] === '-') kv['type'] = 'tar';
  return kv;
}

/** buildx checks a secret file's size when it reads the flag (secretsprovider.NewStore). */
function checkSecretSize(id: string, file: string): void {
  const st = statSync(file);
  if (st.isFile() && st.size > MAX_SECRET_BYTES) throw secretTooBig(id);
}

/**
 * `--secret id=X,src=FILE` | `id=X,env=VAR` | `id=X` (the variable X, else the file X), like buildx.
 * Only where the value lives is kept here; the value is read when a RUN step mounts it.
 */
export function parseSecrets(list: readonly string[], env: NodeJS.ProcessEnv): Map<string, SecretSource> {
  const out = new Map<string, SecretSource>();
  for (const spec of list) {
    const kv: Record<string, string> = {};
    for (const part of spec.split(',')) {
      const eq = part.indexOf('=');
      if (eq < 0) throw new KilnError('USAGE', `invalid --secret ${JSON.stringify(spec)}: expected key=value pairs (id=…,src=… or id=…,env=…)`);
      kv[part.slice(0, eq).trim().toLowerCase()] = part.slice(eq + 1).trim();
    }
    // buildx's keys: an unknown one is an error there too ("unexpected key")
    const unknown = Object.keys(kv).find((k) => !['id', 'type', 'src', 'source', 'env'].includes(k));
    if (unknown !== undefined) throw new KilnError('USAGE', `invalid --secret ${JSON.stringify(spec)}: unexpected key '${unknown}'`, { hint: 'use id=…,src=FILE or id=…,env=VAR (type=file|env)' });
    const id = kv['id'];
    if (!id) throw new KilnError('USAGE', `invalid --secret ${JSON.stringify(spec)}: id= is required`);
    const type = kv['type'];
    if (type !== undefined && type !== 'file' && type !== 'env') throw new KilnError('USAGE', `invalid --secret ${JSON.stringify(spec)}: type must be file or env`);
    const file = kv['src'] ?? kv['source'];
    const envName = kv['env'];
    if (type === 'env' || (envName !== undefined && file === undefined)) {
      out.set(id, { env: envName ?? file ?? id });
    } else if (file !== undefined) {
      if (!existsSync(file)) throw new KilnError('SECRET_NOT_FOUND', `secret ${id}: file ${file} not found`, { hint: 'check the src= path given to --secret' });
      checkSecretSize(id, file);
      out.set(id, { file: resolve(file) });
    } else if (env[id] !== undefined) {
      out.set(id, { env: id });
    } else {
      if (existsSync(id)) checkSecretSize(id, id);
      out.set(id, { file: resolve(id) });
    }
  }
  return out;
}

/** An --ssh value: a running agent's socket, or key files kiln serves through an agent of its own (ssh-keys.ts). */
export type SshSource = { readonly socket: string } | { readonly keys: readonly string[]; readonly spec: string };

/**
 * `--ssh default` ($SSH_AUTH_SOCK), `--ssh ID=/path/agent.sock`, `--ssh ID=KEY[,KEY…]` (private key
 * files, as buildx takes them).
 */
export function parseSsh(list: readonly string[], env: NodeJS.ProcessEnv): Map<string, SshSource> {
  const out = new Map<string, SshSource>();
  for (const spec of list) {
    const eq = spec.indexOf('=');
    const id = eq < 0 ? spec : spec.slice(0, eq);
    const paths = eq < 0 ? [] : spec.slice(eq + 1).split(',').filter((p) => p !== '');
    if (!id) throw new KilnError('USAGE', `invalid --ssh ${JSON.stringify(spec)}: the id is empty`);
    if (paths.length === 0) {
      const sock = env['SSH_AUTH_SOCK'];
      if (sock === undefined || sock === '') {
        throw new KilnError('USAGE', `--ssh ${spec}: no agent socket given and SSH_AUTH_SOCK is not set`, { hint: 'start an agent (eval $(ssh-agent); ssh-add) or pass --ssh default=/path/to/agent.sock or --ssh default=~/.ssh/id_ed25519' });
      }
      paths.push(sock);
    }
    const kinds = paths.map((p) => {
      try {
        const st = statSync(p);
        return st.isSocket() ? 'socket' : st.isFile() ? 'file' : 'other';
      } catch {
        throw new KilnError('USAGE', `--ssh ${spec}: ${p} not found`, { hint: 'pass the path of a running ssh-agent socket or of private key files' });
      }
    });
    if (kinds.includes('other')) throw new KilnError('USAGE', `--ssh ${spec}: ${paths[kinds.indexOf('other')]} is neither an agent socket nor a key file`);
    if (kinds.every((k) => k === 'file')) {
      out.set(id, { keys: paths.map((p) => resolve(p)), spec });
      continue;
    }
    if (paths.length > 1) throw new KilnError('USAGE', `--ssh ${spec}: an agent socket cannot be combined with other paths`, { hint: 'give one agent socket, or key files only' });
    out.set(id, { socket: resolve(paths[0]!) });
  }
  return out;
}

/** `--no-cache-filter STAGE`: commander reads any `--no-…` as the negation of a boolean; this one is not. */
export function noCacheFilterOption(): Option {
  const o = new Option('--no-cache-filter <stage>', 'do not use the cache for the steps of this stage (repeatable)').argParser(collect).default([]);
  o.negate = false;
  return o;
}

/**
 * `--platform` as buildx reads it (`local` is the build machine's platform, a comma-separated
 * list builds each), refusing with exit 125 what kiln cannot build: another platform, a variant,
 * several platforms at once. A malformed one is a usage error too.
 */
export function checkPlatformFlag(value: string, host: Platform): void {
  const names = [...new Set(value.split(',').map((v) => v.trim()))];
  const platforms = names.map((n) => {
    if (n === 'local') return host;
    try {
      return parsePlatform(n, host);
    } catch (e) {
      if (e instanceof KilnError && e.code === 'PLATFORM_INVALID') throw new KilnError('USAGE', e.message, e.details.hint !== undefined ? { hint: e.details.hint } : {});
      throw e;
    }
  });
  const distinct = [...new Set(platforms.map(formatPlatform))];
  if (distinct.length > 1) {
    notImplemented(`building several platforms at once (--platform ${value})`, `kiln builds ${formatPlatform(host)} only: omit --platform`);
  }
  const want = platforms[0]!;
  if (formatPlatform(want) === formatPlatform(host)) return;
  const sameArch = want.os === host.os && want.architecture === host.architecture;
  throw new KilnError('NOT_IMPLEMENTED', sameArch
    ? `--platform ${value}: platform variants are not supported yet; kiln builds ${formatPlatform(host)}`
    : `--platform ${value}: only the native platform (${formatPlatform(host)}) can be built`, {
    hint: sameArch ? `use --platform ${formatPlatform(host)}, or omit it` : 'omit --platform, or build on a machine of that platform',
  });
}

/**
 * Where the build will write, checked before any work: a build is not run for nothing because an
 * archive's dest= is a directory, a local dest= is a file, or the --iidfile directory is missing.
 */
export function checkWritableTargets(outputs: readonly Record<string, string>[], flags: { readonly iidfile?: string | undefined; readonly metadataFile?: string | undefined }): void {
  const kindOf = (p: string): 'dir' | 'other' | undefined => {
    try {
      return statSync(p).isDirectory() ? 'dir' : 'other';
    } catch {
      return undefined;
    }
  };
  for (const o of outputs) {
    const dest = o['dest'];
    if (dest === undefined || dest === '-') continue;
    const kind = kindOf(resolve(dest));
    if ((o['type'] === 'oci' || o['type'] === 'docker' || o['type'] === 'tar') && kind === 'dir') {
      throw new KilnError('USAGE', `--output type=${o['type']},dest=${dest}: is a directory`, { hint: 'dest= names the archive file to write, e.g. dest=image.tar' });
    }
    if (o['type'] === 'local' && kind === 'other') {
      throw new KilnError('USAGE', `--output type=local,dest=${dest}: exists and is not a directory`, { hint: 'type=local writes the files into a directory' });
    }
  }
  for (const [flag, file] of [['--iidfile', flags.iidfile], ['--metadata-file', flags.metadataFile]] as const) {
    if (file !== undefined && kindOf(dirname(resolve(file))) !== 'dir') {
      throw new KilnError('USAGE', `${flag} ${file}: directory ${dirname(resolve(file))} does not exist`, { hint: 'create the directory first' });
    }
    if (file !== undefined && kindOf(resolve(file)) === 'dir') {
      throw new KilnError('USAGE', `${flag} ${file}: is a directory`, { hint: `${flag} names the file to write, e.g. ${flag} ${join(file, flag === '--iidfile' ? 'image.id' : 'metadata.json')}` });
    }
  }
}
