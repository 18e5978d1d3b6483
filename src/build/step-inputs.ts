// What goes into a step's cache key and how its inputs are digested: the step definition without
// how it is displayed (and without proxy build args or local context paths), file digests that
// include extended attributes, and recording of which files a step read (for --explain).
import { relative } from 'node:path';
import { KilnError, isKilnError, shortenText } from '../errors.js';
import type { Source, Step } from '../plan/index.js';
import { digestFile, xattrDigest, type CopyRequest, type FileDigester } from './copy/index.js';

/** `K=V` build-arg strings → a record (RUN steps list the args in scope). */
export function argsRecord(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of list) {
    const eq = a.indexOf('=');
    out[eq < 0 ? a : a.slice(0, eq)] = eq < 0 ? '' : a.slice(eq + 1);
  }
  return out;
}

/**
 * Content digest plus extended attributes (security.capability, user.*): COPY --from copies them,
 * so a stage that only changed a file's capabilities must not look unchanged.
 */
export const digestWithXattrs: FileDigester = (abs, st) => {
  const d = digestFile(abs, st);
  const x = xattrDigest(abs);
  return x === '' ? d : `${d}+xattrs:${x}`;
};

/** Wraps a digester so every regular file read is recorded as path (relative to root) → mode:digest. */
export function recording(root: string, inner: FileDigester, seen: Map<string, string>): FileDigester {
  const prefix = root.endsWith('/') ? root : `${root}/`;
  return (abs, st) => {
    const d = inner(abs, st);
    const rel = abs.startsWith(prefix) ? abs.slice(prefix.length) : relative(root, abs);
    seen.set(rel, `${(Number(st.mode) & 0o7777).toString(8)}:${d}`);
    return d;
  };
}

/** A named local context counts by its name (and the content read), never by where its directory is. */
function withoutDir<T extends Source | undefined>(src: T): T {
  return (src?.kind === 'local' ? { kind: 'local', name: src.name } : src) as T;
}

/** The parts of a step definition that go into its cache key (not how it's displayed). */
export function stepDefinition(step: Step): Record<string, unknown> {
  const { display: _d, location: _l, createdBy: _c, ...all } = step;
  let def = all;
  if (def.kind === 'copy' && def.from.kind === 'local') def = { ...def, from: withoutDir(def.from) };
  if (def.kind === 'run' && def.mounts.some((m) => m.from?.kind === 'local')) def = { ...def, mounts: def.mounts.map((m) => (m.from?.kind === 'local' ? { ...m, from: withoutDir(m.from) } : m)) };
  // v2: the directory's owner follows BuildKit's mkdir (COPY --chown rules: `USER 42` is 42:42, an
  // unknown name is root), no longer RUN's; a cached WORKDIR made by the old rules is not reused
  if (def.kind === 'workdir') return { ...def, ownerRules: 2 };
  if (def.kind === 'run' && def.proxyEnv) {
    // Proxy build args reach the step but not its key (BuildKit): machines behind different
    // proxies share a cache.
    const { proxyEnv, env, ...rest } = def;
    const proxy = new Set(proxyEnv);
    return { ...rest, env: env.filter((e) => !proxy.has(e)) };
  }
  return def;
}

export function sourceLabel(src: Source): string {
  return src.kind === 'context' ? 'context' : src.kind === 'stage' ? `stage ${src.stage}` : src.kind === 'local' ? `context ${src.name}` : src.image.ref;
}

export function asHashError(e: unknown): KilnError {
  if (isKilnError(e)) return e;
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'ENAMETOOLONG') {
    return new KilnError('IO', `cannot read a file for the cache key: ${shortenText(JSON.stringify(err.path ?? ''), 200)}: file name too long`, {
      cause: e,
      hint: 'Linux takes at most 255 bytes for one name and 4095 for a whole path: shorten the source path',
    });
  }
  return new KilnError('IO', `cannot read a file for the cache key: ${err?.message ?? String(e)}`, { cause: e });
}

/** A rootfs request reading `source` (a path in a stage/image) whole, e.g. for a bind mount. */
export function wholePath(source: string | undefined): Omit<CopyRequest, 'destRoot' | 'srcRoot'> {
  return { srcKind: 'rootfs', sources: [source ?? '/'], inline: [], dest: '/', parents: false, excludes: [], link: false };
}
