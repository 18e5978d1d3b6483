// `kiln build --build-context NAME=VALUE` (repeatable), with buildx's forms: a local directory,
// `docker-image://REF` (resolved like a base image: store, then registry) and
// `oci-layout://PATH[:TAG|@DIGEST]` (the image is loaded from that OCI layout into the store when a
// build uses it). Git and http(s) contexts fail loudly as not implemented.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KilnError } from '../../errors.js';
import { parseConfig, parseManifest, type Descriptor, type Platform } from '../../image/index.js';
import { contextName, type NamedContext, type ResolvedImage } from '../../plan/index.js';
import { parseNormalizedReference } from '../../registry/index.js';
import { readArchive } from '../../export/index.js';
import { REF_NAME, resolveManifest, type Store } from '../../store/index.js';

/** An `oci-layout://` context: the layout dir and the index.json entry it names. */
export interface LayoutContext {
  readonly dir: string;
  readonly desc: Descriptor;
}

export interface BuildContexts {
  /** For the plan, by normalised name. */
  readonly named: Map<string, NamedContext>;
  /** The image refs the plan asks the resolver for that are OCI layouts (see layoutResolver). */
  readonly layouts: Map<string, LayoutContext>;
}

const HINT = 'use --build-context NAME=DIR, NAME=docker-image://REF or NAME=oci-layout://PATH[:TAG|@DIGEST]';

function usage(spec: string, why: string, hint = HINT): KilnError {
  return new KilnError('USAGE', `invalid --build-context ${JSON.stringify(spec)}: ${why}`, { hint });
}

/** buildx's git/URL contexts (urlutil.IsGitURL / IsURL): not implemented here. */
function isRemote(v: string): boolean {
  return /^(https?:\/\/|git:\/\/|git@|ssh:\/\/|github\.com\/)/.test(v);
}

export function parseBuildContexts(list: readonly string[], cwd: string): BuildContexts {
  const named = new Map<string, NamedContext>();
  const layouts = new Map<string, LayoutContext>();
  for (const spec of list) {
    const eq = spec.indexOf('=');
    if (eq < 0) throw usage(spec, 'expected NAME=VALUE');
    const name = spec.slice(0, eq);
    const value = spec.slice(eq + 1);
    if (name === '') throw usage(spec, 'the name is empty');
    if (value === '') throw usage(spec, 'the value is empty');
    const key = contextName(name);
    if (key === undefined) throw usage(spec, `${JSON.stringify(name)} is not a valid context name`, 'names are written like image names: lower-case letters, digits, -, _, . and /');
    if (isRemote(value)) {
      throw new KilnError('NOT_IMPLEMENTED', `--build-context ${name}=${value}: git and https contexts are not supported by this version of kiln`, {
        hint: 'clone or download it into a directory and pass --build-context NAME=DIR',
      });
    }
    if (value.startsWith('docker-image://')) {
      const ref = value.slice('docker-image://'.length);
      if (ref === '') throw usage(spec, 'docker-image:// needs an image reference');
      if (ref !== 'scratch') {
        try {
          parseNormalizedReference(ref);
        } catch (e: unknown) {
          throw usage(spec, `${JSON.stringify(ref)} is not a valid image reference (${e instanceof Error ? e.message : String(e)})`);
        }
      }
      named.set(key, { kind: 'image', ref });
      continue;
    }
    if (value.startsWith('oci-layout://')) {
      const l = parseLayout(spec, value.slice('oci-layout://'.length), cwd);
      const ref = `oci-layout://${l.dir}@${l.desc.digest}`;
      layouts.set(ref, l);
      named.set(key, { kind: 'image', ref });
      continue;
    }
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(value);
    if (scheme) throw usage(spec, `unknown context type ${JSON.stringify(scheme[1])}`);
    const dir = resolve(cwd, value);
    if (!existsSync(dir)) throw usage(spec, `directory ${dir} not found`, 'a local context is a directory; image contexts are written docker-image://REF');
    if (!statSync(dir).isDirectory()) throw usage(spec, `${dir} is not a directory`, 'a local context is a directory; pass its parent directory and COPY the file from it');
    named.set(key, { kind: 'local', dir });
  }
  return { named, layouts };
}

/** `PATH[:TAG|@DIGEST]` → the layout dir and the index.json entry (TAG defaults to latest). */
function parseLayout(spec: string, rest: string, cwd: string): LayoutContext {
  let path = rest;
  let digest: string | undefined;
  let tag: string | undefined;
  const at = path.lastIndexOf('@');
  if (at >= 0) {
    digest = path.slice(at + 1);
    path = path.slice(0, at);
    if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw usage(spec, `${JSON.stringify(digest)} is not a sha256 digest`);
  } else {
    const colon = path.lastIndexOf(':');
    if (colon > path.lastIndexOf('/')) {
      tag = path.slice(colon + 1);
      path = path.slice(0, colon);
      if (!/^[\w][\w.-]{0,127}$/.test(tag)) throw usage(spec, `${JSON.stringify(tag)} is not a valid tag`);
    }
  }
  if (path === '') throw usage(spec, 'oci-layout:// needs the path of an OCI layout directory');
  const dir = resolve(cwd, path);
  let index: unknown;
  try {
    if (!existsSync(join(dir, 'oci-layout'))) throw new Error('no oci-layout file');
    index = parseManifest(readFileSync(join(dir, 'index.json')));
  } catch (e: unknown) {
    throw usage(spec, `${dir} is not an OCI image layout (${e instanceof Error ? e.message : String(e)})`, 'write one with `kiln save --format oci-dir -o DIR IMAGE` or `skopeo copy … oci:DIR`');
  }
  const parsed = index as ReturnType<typeof parseManifest>;
  if (parsed.kind !== 'index') throw usage(spec, `${dir}/index.json is not an OCI image index`);
  const entries = parsed.index.manifests;
  if (digest !== undefined) {
    const d = entries.find((e) => e.digest === digest);
    // a digest not listed in index.json may still be a manifest inside one of its indexes
    return { dir, desc: d ?? { mediaType: '', digest: digest as Descriptor['digest'], size: 0 } };
  }
  const want = tag ?? 'latest';
  let found = entries.filter((e) => e.annotations?.[REF_NAME] === want);
  if (found.length === 0) {
    // kiln save / docker save name entries by the whole reference (busybox, docker.io/library/busybox:1)
    found = entries.filter((e) => {
      const n = e.annotations?.[REF_NAME];
      if (n === undefined) return false;
      try {
        const r = parseNormalizedReference(n);
        return (r.tag ?? (r.digest ? undefined : 'latest')) === want;
      } catch {
        return false;
      }
    });
  }
  if (found.length === 0 && tag === undefined && entries.length === 1) found = [entries[0]!];
  const digests = new Set(found.map((e) => e.digest));
  if (digests.size === 1) return { dir, desc: found[0]! };
  const names = entries.map((e) => e.annotations?.[REF_NAME] ?? e.digest);
  if (digests.size === 0) throw usage(spec, `no image tagged ${JSON.stringify(want)} in ${dir} (it has: ${names.join(', ') || 'no images'})`, `name one: oci-layout://${path}:TAG or oci-layout://${path}@DIGEST`);
  throw usage(spec, `several images are tagged ${JSON.stringify(want)} in ${dir}`, `pick one by digest: oci-layout://${path}@DIGEST`);
}

/**
 * The resolver step for `oci-layout://` refs: loads the layout into the store once (blobs
 * verified; nothing is named), then picks the manifest for `platform`. Undefined for other refs.
 */
export function layoutResolver(store: Store, layouts: ReadonlyMap<string, LayoutContext>): (ref: string, platform: Platform, signal?: AbortSignal) => Promise<ResolvedImage | undefined> {
  const loaded = new Map<string, Promise<unknown>>();
  return async (ref, platform, signal) => {
    const l = layouts.get(ref);
    if (!l) return undefined;
    let p = loaded.get(l.dir);
    if (!p) {
      p = readArchive(store, l.dir, signal ? { signal } : {});
      loaded.set(l.dir, p);
    }
    await p;
    let desc = l.desc;
    if (desc.mediaType === '') {
      if (!(await store.has(desc.digest))) {
        throw new KilnError('IMAGE_NOT_FOUND', `${ref}: no manifest ${desc.digest} in the layout ${l.dir}`, { hint: 'give a digest listed in its index.json (or of a manifest inside one of its indexes)' });
      }
      const bytes = await store.readBytes(desc.digest);
      desc = { mediaType: parseManifest(bytes).mediaType ?? '', digest: desc.digest, size: bytes.length };
    }
    const m = await resolveManifest(store, desc, platform);
    const parsed = parseManifest(await store.readBytes(m.digest), m.mediaType);
    if (parsed.kind !== 'manifest') throw new KilnError('IMAGE_INVALID', `${ref}: expected an image manifest`);
    const config = parseConfig(await store.readBytes(parsed.manifest.config.digest));
    return { ref, digest: m.digest, config };
  };
}
