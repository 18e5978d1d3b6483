// Where a shared build cache lives: a registry reference (`type=registry,ref=R`) or an OCI image
// layout directory (`type=local,dest=DIR` / `src=DIR`). Both hold the artifact of remote-cache.ts
// (one OCI manifest, the kiln cache config, the steps' layer blobs). Reading a cache that does not
// exist is a warning (like buildx), never a failed build.
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { KilnError } from '../errors.js';
import { MediaType, digestHex, sha256, type Descriptor, type Digest } from '../image/index.js';
import { type RegistryClient, downloadBlob, formatReference, parseNormalizedReference, uploadBlob, withDefaultTag, type Reference } from '../registry/index.js';
import { CACHE_CONFIG_MEDIA_TYPE, parseCacheConfig, type CacheArtifact, type LoadedCache } from './remote-cache.js';
import type { BlobStore } from './ports.js';
import { makeDirs } from '../support/index.js';

export type CacheLocation =
  | { readonly type: 'registry'; readonly ref: string }
  /** An OCI layout directory; the manifest is named `tag` in its index.json (default `latest`). */
  | { readonly type: 'local'; readonly dir: string; readonly tag: string };

export interface CacheIoDeps {
  readonly store: BlobStore;
  /** A registry client for a domain (cli/ wires credentials, TLS and insecure registries). */
  readonly client: (domain: string) => RegistryClient;
}

/** `registry cache 127.0.0.1:5000/cache:main` / `local cache /tmp/cache`. */
export function cacheName(loc: CacheLocation): string {
  return loc.type === 'registry' ? `registry cache ${loc.ref}` : `local cache ${loc.dir}${loc.tag === 'latest' ? '' : ` (${loc.tag})`}`;
}

function registryRef(ref: string): Reference {
  try {
    return withDefaultTag(parseNormalizedReference(ref));
  } catch (e: unknown) {
    throw new KilnError('USAGE', `invalid cache reference ${JSON.stringify(ref)}: ${e instanceof Error ? e.message : String(e)}`, { hint: 'e.g. type=registry,ref=registry.example.com/app:buildcache' });
  }
}

const SMALL_LIMIT = 16 * 1024 * 1024;

async function readAll(s: NodeJS.ReadableStream, limit: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of s as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) throw new KilnError('IMAGE_INVALID', `${what} is larger than ${limit} bytes`);
    parts.push(Buffer.from(c));
  }
  return Buffer.concat(parts);
}

function checkManifest(bytes: Buffer, name: string): { config: Descriptor; layers: Descriptor[] } {
  let m: { mediaType?: string; config?: Descriptor; layers?: Descriptor[] };
  try {
    m = JSON.parse(bytes.toString('utf8')) as typeof m;
  } catch {
    throw new KilnError('IMAGE_INVALID', `${name}: the manifest is not valid JSON`);
  }
  if (m.config?.mediaType !== CACHE_CONFIG_MEDIA_TYPE || !Array.isArray(m.layers)) {
    throw new KilnError('IMAGE_INVALID', `${name}: not a kiln build cache (config media type ${m.config?.mediaType ?? 'none'}, expected ${CACHE_CONFIG_MEDIA_TYPE})`, {
      hint: 'point --cache-from at a reference written by kiln build --cache-to (an image is not a cache)',
    });
  }
  return { config: m.config, layers: m.layers };
}

/** Reads one cache (manifest + config); the layers are fetched later, only for steps that hit. */
export async function loadCache(loc: CacheLocation, deps: CacheIoDeps, signal: AbortSignal): Promise<LoadedCache> {
  const name = cacheName(loc);
  if (loc.type === 'registry') {
    const ref = registryRef(loc.ref);
    const client = deps.client(ref.domain);
    const m = await client.getManifest(ref.path, ref.digest ?? ref.tag ?? 'latest', { signal, refName: formatReference(ref) });
    const { config: cd } = checkManifest(m.bytes, name);
    if (cd.size > SMALL_LIMIT) throw new KilnError('IMAGE_INVALID', `${name}: config of ${cd.size} bytes is too large`);
    const config = parseCacheConfig(await readAll(downloadBlob(client, ref.path, cd, { signal }), cd.size, `${name} config`), name);
    return { name, config, fetch: async (desc, sig, onBytes) => downloadBlob(client, ref.path, desc, { signal: sig, verify: false, ...(onBytes ? { onBytes } : {}) }) };
  }
  const blobPath = (d: Digest): string => join(loc.dir, 'blobs', 'sha256', digestHex(d));
  const index = join(loc.dir, 'index.json');
  if (!existsSync(index)) throw new KilnError('IMAGE_NOT_FOUND', `${name}: ${index} not found`);
  let idx: { manifests?: Descriptor[] };
  try {
    idx = JSON.parse(readFileSync(index, 'utf8')) as typeof idx;
  } catch {
    throw new KilnError('IMAGE_INVALID', `${name}: index.json is not valid JSON`);
  }
  const entry = (idx.manifests ?? []).find((d) => d.annotations?.['org.opencontainers.image.ref.name'] === loc.tag);
  if (!entry) throw new KilnError('IMAGE_NOT_FOUND', `${name}: no manifest named ${loc.tag} in ${index}`);
  const readVerified = (d: Descriptor): Buffer => {
    let b: Buffer;
    try {
      b = readFileSync(blobPath(d.digest));
    } catch {
      throw new KilnError('IMAGE_INVALID', `${name}: blob ${d.digest} is missing`);
    }
    if (sha256(b) !== d.digest) throw new KilnError('DIGEST_MISMATCH', `${name}: blob ${d.digest} does not match its digest`);
    return b;
  };
  const { config: cd } = checkManifest(readVerified(entry), name);
  const config = parseCacheConfig(readVerified(cd), name);
  return {
    name,
    config,
    // the store verifies digest and size while ingesting
    fetch: async (desc) => {
      if (!existsSync(blobPath(desc.digest))) throw new KilnError('IMAGE_INVALID', `${name}: blob ${desc.digest} is missing`);
      return createReadStream(blobPath(desc.digest));
    },
  };
}

/** Writes an export (layers, config, then the manifest under the ref/tag). Returns blobs uploaded or copied. */
export async function saveCache(loc: CacheLocation, art: CacheArtifact, deps: CacheIoDeps, signal: AbortSignal): Promise<{ written: number; existing: number }> {
  let written = 0;
  let existing = 0;
  if (loc.type === 'registry') {
    const ref = registryRef(loc.ref);
    if (ref.digest !== undefined) throw new KilnError('USAGE', `--cache-to ref=${loc.ref}: a cache is written under a tag, not a digest`);
    const client = deps.client(ref.domain);
    const put = async (d: Descriptor, open: () => Promise<NodeJS.ReadableStream>): Promise<void> => {
      const outcome = await uploadBlob(client, ref.path, d, open, { signal });
      if (outcome === 'exists') existing++;
      else written++;
    };
    for (const l of art.layers) await put(l, () => deps.store.open(l.digest, signal));
    await put(art.configDescriptor, async () => bufferStream(art.config));
    await client.putManifest(ref.path, ref.tag ?? 'latest', MediaType.OciManifest, art.manifest, signal);
    return { written, existing };
  }
  const blobs = join(loc.dir, 'blobs', 'sha256');
  try {
    makeDirs(blobs);
  } catch (e: unknown) {
    throw new KilnError('IO', `cannot create the cache directory ${loc.dir}: ${(e as Error).message}`, { cause: e, hint: 'name a directory you can create, e.g. --cache-to type=local,dest=./cache' });
  }
  const tmpName = (): string => join(loc.dir, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const write = async (d: Digest, from: () => Promise<NodeJS.ReadableStream> | NodeJS.ReadableStream): Promise<void> => {
    const dest = join(blobs, digestHex(d));
    if (existsSync(dest)) {
      existing++;
      return;
    }
    const tmp = tmpName();
    await pipeline(await from(), createWriteStream(tmp), { signal });
    renameSync(tmp, dest);
    written++;
  };
  for (const l of art.layers) await write(l.digest, () => deps.store.open(l.digest, signal));
  await write(art.configDescriptor.digest, () => bufferStream(art.config));
  await write(art.manifestDigest, () => bufferStream(art.manifest));
  const layoutFile = join(loc.dir, 'oci-layout');
  if (!existsSync(layoutFile)) writeFileSync(layoutFile, JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const indexFile = join(loc.dir, 'index.json');
  let manifests: Descriptor[] = [];
  if (existsSync(indexFile) && statSync(indexFile).size > 0) {
    try {
      manifests = (JSON.parse(readFileSync(indexFile, 'utf8')) as { manifests?: Descriptor[] }).manifests ?? [];
    } catch {
      throw new KilnError('IMAGE_INVALID', `--cache-to ${cacheName(loc)}: ${indexFile} is not valid JSON`, { hint: 'use an empty directory or one written by kiln --cache-to type=local' });
    }
  }
  manifests = manifests.filter((d) => d.annotations?.['org.opencontainers.image.ref.name'] !== loc.tag);
  manifests.push({ mediaType: MediaType.OciManifest, digest: art.manifestDigest, size: art.manifest.length, annotations: { 'org.opencontainers.image.ref.name': loc.tag } });
  const tmp = tmpName();
  writeFileSync(tmp, JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests }));
  renameSync(tmp, indexFile);
  return { written, existing };
}

function bufferStream(b: Buffer): NodeJS.ReadableStream {
  return Readable.from([b]);
}

