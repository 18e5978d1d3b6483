// The local store: an OCI image layout under one root (blobs/, oci-layout, index.json = name
// index), plus kiln's own tmp/ (in-flight ingests) and kiln.lock. Crash-safe by construction:
// blobs appear only by rename of a complete, verified, fsynced file; names are updated only under
// the lock, by an atomic rename of index.json, and only to point at blobs whose closure exists.
import { existsSync, lstatSync, mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError } from '../errors.js';
import { isIndexMediaType, isManifestMediaType, parseManifest, type Descriptor, type Digest, type Index } from '../image/index.js';
import { BlobStore, type Expect, type IngestResult } from './blobs.js';
import { createFileOnce, readFileOrUndefined, tempOwner, writeFileAtomic } from './fsutil.js';
import { pidAlive } from '../support/index.js';
import { withLock, type LockOptions } from './lock.js';
import { emptyIndex, parseIndexFile, refEntries, serialiseIndex, withRef, withoutRef, type RefEntry } from './refs.js';

export const OCI_LAYOUT = '{"imageLayoutVersion":"1.0.0"}';

/** Layers that may legitimately be absent (Windows foreign layers, non-distributable blobs). */
export function isOptionalLayer(mediaType: string): boolean {
  return mediaType.includes('.foreign.') || mediaType.includes('.nondistributable.');
}

export class Store {
  readonly blobs: BlobStore;
  readonly tmpDir: string;
  readonly indexPath: string;
  readonly lockPath: string;

  private constructor(readonly root: string) {
    this.tmpDir = join(root, 'tmp');
    this.indexPath = join(root, 'index.json');
    this.lockPath = join(root, 'kiln.lock');
    mkdirSync(this.tmpDir, { recursive: true });
    this.blobs = new BlobStore(root, this.tmpDir);
  }

  /** Opens (creating if needed) the store at `root`. */
  static open(root: string): Store {
    mkdirSync(root, { recursive: true });
    const s = new Store(root);
    const layout = join(root, 'oci-layout');
    // Never overwrite: another process may be creating the same store and tagging into it.
    if (!existsSync(layout)) createFileOnce(layout, OCI_LAYOUT, s.tmpDir);
    if (!existsSync(s.indexPath)) createFileOnce(s.indexPath, serialiseIndex(emptyIndex()), s.tmpDir);
    return s;
  }

  // ---- blobs (no lock: a blob's name is its content, rename is atomic) ----

  /**
   * Removes temp files whose owner process is gone (a build killed or interrupted while it wrote
   * a blob leaves up to a layer's size behind). Cheap: one readdir. A live owner's files stay.
   */
  sweepDeadTemps(): number {
    let n = 0;
    let names: string[];
    try {
      names = readdirSync(this.tmpDir);
    } catch {
      return 0;
    }
    for (const name of names) {
      const owner = tempOwner(name);
      if (owner === undefined || owner === process.pid || pidAlive(owner)) continue;
      try {
        if (!lstatSync(join(this.tmpDir, name)).isFile()) continue;
        unlinkSync(join(this.tmpDir, name));
        n++;
      } catch {
        /* gone, or another kiln swept it */
      }
    }
    return n;
  }

  has(d: Digest): Promise<boolean> {
    return this.blobs.has(d);
  }
  stat(d: Digest): Promise<{ size: number; mtimeMs: number }> {
    return this.blobs.stat(d);
  }
  open(d: Digest, signal?: AbortSignal): Promise<NodeJS.ReadableStream> {
    return this.blobs.open(d, signal);
  }
  readBytes(d: Digest, max?: number): Promise<Buffer> {
    return this.blobs.readBytes(d, max);
  }
  ingest(src: NodeJS.ReadableStream, expect?: Expect, signal?: AbortSignal): Promise<IngestResult> {
    return this.blobs.ingest(src, expect, signal);
  }
  ingestBytes(data: Uint8Array, expect?: Expect): Promise<IngestResult> {
    return this.blobs.ingestBytes(data, expect);
  }
  /** Removes one blob (refs are not checked: use gc for safe removal). */
  delete(d: Digest): boolean {
    return this.blobs.delete(d);
  }
  list(): Digest[] {
    return this.blobs.list();
  }

  // ---- the lock ----

  withLock<T>(fn: () => Promise<T> | T, opts?: LockOptions): Promise<T> {
    return withLock(this.lockPath, this.tmpDir, fn, opts);
  }

  // ---- names ----

  /** The whole index.json (names and unnamed roots). */
  readIndex(): Index {
    const bytes = readFileOrUndefined(this.indexPath);
    return bytes === undefined ? emptyIndex() : parseIndexFile(bytes, this.indexPath);
  }

  refs(): RefEntry[] {
    return refEntries(this.readIndex());
  }

  /** The descriptor a name points at; IMAGE_NOT_FOUND when there is no such name. */
  resolve(name: string): Descriptor {
    const e = this.refs().find((r) => r.name === name);
    if (!e) throw new KilnError('IMAGE_NOT_FOUND', `no image named ${JSON.stringify(name)} in the local store`, { hint: 'list local images with `kiln images`' });
    return e.descriptor;
  }

  /**
   * Points names at descriptors in one atomic update. Every blob the descriptor needs must
   * already be stored (ingest first, then tag), so a name never dangles, even after a crash.
   */
  async tag(entries: readonly RefEntry[] | RefEntry, opts?: LockOptions): Promise<void> {
    const list = Array.isArray(entries) ? (entries as readonly RefEntry[]) : [entries as RefEntry];
    await this.withLock(async () => {
      for (const e of list) await this.assertComplete(e.descriptor, e.name);
      let index = this.readIndex();
      for (const e of list) index = withRef(index, e.name, e.descriptor);
      writeFileAtomic(this.indexPath, serialiseIndex(index), this.tmpDir);
    }, opts);
  }

  /** Removes names; returns the ones that existed. Blobs stay until gc. */
  async untag(names: readonly string[], opts?: LockOptions): Promise<string[]> {
    return this.withLock(() => {
      let index = this.readIndex();
      const removed: string[] = [];
      for (const n of names) {
        const next = withoutRef(index, n);
        if (next !== index) removed.push(n);
        index = next;
      }
      if (removed.length) writeFileAtomic(this.indexPath, serialiseIndex(index), this.tmpDir);
      return removed;
    }, opts);
  }

  /** Descriptors a manifest or index blob references (config + layers, or child manifests). */
  async children(desc: Descriptor): Promise<{ required: Descriptor[]; optional: Descriptor[] }> {
    if (!isManifestMediaType(desc.mediaType) && !isIndexMediaType(desc.mediaType)) return { required: [], optional: [] };
    const parsed = parseManifest(await this.readBytes(desc.digest), desc.mediaType);
    if (parsed.kind === 'index') {
      // A partial pull stores one platform of an index: children are optional.
      return { required: [], optional: [...parsed.index.manifests] };
    }
    const m = parsed.manifest;
    const required = [m.config, ...m.layers.filter((l) => !isOptionalLayer(l.mediaType))];
    const optional = m.layers.filter((l) => isOptionalLayer(l.mediaType));
    if (m.subject) optional.push(m.subject);
    return { required, optional };
  }

  /** Throws BLOB_NOT_FOUND naming the first missing blob of `desc`'s closure. */
  async assertComplete(desc: Descriptor, name: string): Promise<void> {
    const missing = await this.missing(desc);
    if (missing.length > 0) {
      throw new KilnError('BLOB_NOT_FOUND', `cannot tag ${name}: blob ${missing[0]} is not in the store${missing.length > 1 ? ` (and ${missing.length - 1} more)` : ''}`, {
        hint: 'ingest every blob before tagging; if a `kiln prune` ran meanwhile, retry',
      });
    }
  }

  /** The digests of `desc`'s required closure that are absent (present children are descended). */
  async missing(desc: Descriptor, seen = new Set<string>()): Promise<Digest[]> {
    if (seen.has(desc.digest)) return [];
    seen.add(desc.digest);
    if (!(await this.has(desc.digest))) return [desc.digest];
    const out: Digest[] = [];
    const { required, optional } = await this.children(desc);
    for (const c of required) out.push(...(await this.missing(c, seen)));
    for (const c of optional) if (await this.has(c.digest)) out.push(...(await this.missing(c, seen)));
    return out;
  }
}
