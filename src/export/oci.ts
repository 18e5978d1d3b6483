// OCI image layout output: a directory (oci-layout, index.json, blobs/<alg>/<hex>) or a tar of
// one (an "oci-archive", what `skopeo copy … oci-archive:` and `docker save` ≥ 25 read).
// Each name becomes one index.json entry annotated org.opencontainers.image.ref.name = name.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { KilnError } from '../errors.js';
import { buildIndex, canonicalJson, digestAlgorithm, digestHex, parseManifest, type Descriptor, type Index } from '../image/index.js';
import { OCI_LAYOUT, REF_NAME, type Store } from '../store/index.js';
import { collectAll, type NamedImage } from './closure.js';
import { writeBytesAtomic, writeStreamAtomic } from './output.js';
import { bytesEntry, dirEntry, tarStream, type OutEntry } from './tar-out.js';

export interface ExportOptions {
  readonly signal?: AbortSignal;
}

function entryFor(img: NamedImage): Descriptor {
  const { [REF_NAME]: _drop, ...rest } = img.desc.annotations ?? {};
  return {
    mediaType: img.desc.mediaType,
    digest: img.desc.digest,
    size: img.desc.size,
    ...(img.desc.platform ? { platform: img.desc.platform } : {}),
    annotations: { ...rest, [REF_NAME]: img.name },
  };
}

/** index.json for `images` (in the order given), optionally merged into an existing index. */
export function layoutIndex(images: readonly NamedImage[], existing?: Index): Buffer {
  const names = new Set(images.map((i) => i.name));
  const kept = (existing?.manifests ?? []).filter((d) => {
    const n = d.annotations?.[REF_NAME];
    return n === undefined || !names.has(n);
  });
  return canonicalJson(buildIndex({ format: 'oci', manifests: [...kept, ...images.map(entryFor)] }));
}

function blobPath(d: Descriptor): string {
  return `blobs/${digestAlgorithm(d.digest)}/${digestHex(d.digest)}`;
}

/**
 * Writes the images as an OCI image layout in `dir`. A new or empty directory gets a fresh
 * layout; an existing layout gets the blobs added and the names (re)pointed, other names kept.
 * index.json is written last, atomically, so the layout is valid at every instant.
 */
export async function writeOciLayout(store: Store, images: readonly NamedImage[], dir: string, opts: ExportOptions = {}): Promise<void> {
  let existing: Index | undefined;
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new KilnError('USAGE', `${dir} exists and is not a directory`);
    if (existsSync(join(dir, 'oci-layout'))) {
      const p = parseManifest(readFileOrEmpty(join(dir, 'index.json')));
      if (p.kind !== 'index') throw new KilnError('ARCHIVE_INVALID', `${dir}/index.json is not an OCI image index`);
      existing = p.index;
    } else if (readdirSync(dir).length > 0) {
      throw new KilnError('USAGE', `${dir} is neither empty nor an OCI image layout`, { hint: 'give a new or empty directory' });
    }
  }
  const blobs = await collectAll(store, images);
  for (const b of blobs) {
    opts.signal?.throwIfAborted();
    const path = join(dir, blobPath(b));
    if (existsSync(path) && statSync(path).size === b.size) continue;
    await writeStreamAtomic(path, await store.open(b.digest, opts.signal), opts.signal);
  }
  writeBytesAtomic(join(dir, 'oci-layout'), Buffer.from(OCI_LAYOUT));
  writeBytesAtomic(join(dir, 'index.json'), layoutIndex(images, existing));
}

function readFileOrEmpty(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch {
    return Buffer.from('{"schemaVersion":2,"manifests":[]}');
  }
}

/** The entries of an OCI archive: oci-layout, index.json, then the blobs sorted by digest. */
export async function ociArchiveEntries(store: Store, images: readonly NamedImage[]): Promise<OutEntry[]> {
  const blobs = await collectAll(store, images);
  const entries: OutEntry[] = [bytesEntry('oci-layout', Buffer.from(OCI_LAYOUT)), bytesEntry('index.json', layoutIndex(images)), dirEntry('blobs/')];
  const algs = [...new Set(blobs.map((b) => digestAlgorithm(b.digest)))].sort();
  for (const alg of algs) {
    entries.push(dirEntry(`blobs/${alg}/`));
    for (const b of blobs) {
      if (digestAlgorithm(b.digest) !== alg) continue;
      entries.push({ name: blobPath(b), size: b.size, open: (signal) => store.open(b.digest, signal) });
    }
  }
  return entries;
}

/** The OCI archive as a byte stream (deterministic: the same images give the same bytes). */
export async function ociArchiveStream(store: Store, images: readonly NamedImage[], opts: ExportOptions = {}): Promise<Readable> {
  const entries = await ociArchiveEntries(store, images);
  return Readable.from(tarStream(entries, opts.signal), { objectMode: false });
}

/** Writes an OCI archive (a tar of an OCI image layout) to `file`, atomically. */
export async function writeOciArchive(store: Store, images: readonly NamedImage[], file: string, opts: ExportOptions = {}): Promise<void> {
  await writeStreamAtomic(file, await ociArchiveStream(store, images, opts), opts.signal);
}
