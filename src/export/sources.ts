// The files of an archive to load, behind one interface: a directory read in place, or a tar
// (optionally gzip/zstd-compressed) streamed once, every blob ingested into the store as it
// passes (verified against its name when the name is a digest) and small metadata kept in memory.
import { closeSync, createReadStream, existsSync, openSync, readSync, statSync, readFileSync } from 'node:fs';
import { posix, join } from 'node:path';
import { Readable } from 'node:stream';
import { KilnError } from '../errors.js';
import { isDigest, type Compression, type Digest } from '../image/index.js';
import { decompressLayer, readBody, readTar, sniffCompression } from '../layer/index.js';
import { MAX_JSON_BLOB, type Store } from '../store/index.js';

export interface BlobInfo {
  readonly digest: Digest;
  readonly size: number;
  readonly compression: Compression;
}

export interface ArchiveFiles {
  readonly kind: 'dir' | 'tar';
  /** A small file's bytes (manifest.json, index.json, ...), or undefined when absent. */
  small(path: string): Promise<Buffer | undefined>;
  /** The file at `path` as a stored blob (ingested if needed), or undefined when absent. */
  blob(path: string, expect?: { digest: Digest; size?: number }, signal?: AbortSignal): Promise<BlobInfo | undefined>;
}

function clean(name: string): string {
  const n = posix.normalize(`/${name}`).slice(1);
  return n.endsWith('/') ? n.slice(0, -1) : n;
}

function invalid(msg: string, hint?: string): KilnError {
  return new KilnError('ARCHIVE_INVALID', msg, hint ? { hint } : {});
}

function mismatch(path: string, got: { digest: Digest; size: number }, expect: { digest: Digest; size?: number }): KilnError {
  return new KilnError('DIGEST_MISMATCH', `${path}: content has digest ${got.digest} (${got.size} bytes), expected ${expect.digest}${expect.size === undefined ? '' : ` (${expect.size} bytes)`}`, {
    hint: 'the archive is corrupt or was modified; export it again',
  });
}

function checkExpect(path: string, info: BlobInfo, expect?: { digest: Digest; size?: number }): BlobInfo {
  if (expect && (info.digest !== expect.digest || (expect.size !== undefined && info.size !== expect.size))) throw mismatch(path, info, expect);
  return info;
}

/** Small files are metadata by name; everything else is content for the store. */
function isSmall(name: string): boolean {
  return /^(manifest\.json|index\.json|oci-layout|repositories)$/.test(name) || /^[^/]+\.json$/.test(name) || /^[^/]+\/(json|VERSION)$/.test(name);
}

function headOf(path: string): Compression {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(4);
    const n = readSync(fd, b, 0, 4, 0);
    return sniffCompression(b.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}

/** A directory (an OCI image layout, or an extracted docker save) read in place. */
export function dirFiles(store: Store, dir: string): ArchiveFiles {
  const resolvePath = (p: string): string => join(dir, clean(p));
  return {
    kind: 'dir',
    async small(path) {
      const abs = resolvePath(path);
      if (!existsSync(abs)) return undefined;
      const st = statSync(abs);
      if (!st.isFile()) return undefined;
      if (st.size > MAX_JSON_BLOB) throw invalid(`${abs} is ${st.size} bytes, too large for metadata`);
      return readFileSync(abs);
    },
    async blob(path, expect, signal) {
      const abs = resolvePath(path);
      if (!existsSync(abs) || !statSync(abs).isFile()) return undefined;
      const compression = headOf(abs);
      if (expect && (await store.has(expect.digest))) {
        const { size } = await store.stat(expect.digest);
        if (expect.size === undefined || size === expect.size) {
          store.blobs.touch(expect.digest); // young again for gc's grace period until we tag
          return { digest: expect.digest, size, compression };
        }
      }
      try {
        const r = await store.ingest(createReadStream(abs), expect, signal);
        return { digest: r.digest, size: r.size, compression };
      } catch (e: unknown) {
        if (e instanceof KilnError && e.code === 'DIGEST_MISMATCH') throw new KilnError('DIGEST_MISMATCH', `${abs}: ${e.message}`, { hint: 'the layout is corrupt or was modified; export it again' });
        throw e;
      }
    },
  };
}

type Held = { kind: 'mem'; data: Buffer } | { kind: 'blob'; info: BlobInfo } | { kind: 'link'; target: string };

/**
 * Reads a whole tar stream (gzip/zstd sniffed and undone), ingesting every content file into the
 * store and keeping metadata. Files named blobs/<alg>/<hex> are verified against that digest.
 */
export async function tarFiles(store: Store, src: NodeJS.ReadableStream, signal?: AbortSignal): Promise<ArchiveFiles> {
  const held = new Map<string, Held>();
  const tar = await decompressLayer(src as unknown as Readable);
  let entries = 0;
  // a bounded read after the end-of-archive blocks: `kiln load -i /dev/zero` read zeros for ever
  for await (const e of readTar(tar, { errorCode: 'ARCHIVE_INVALID', drainLimit: 1 << 20, ...(signal ? { signal } : {}) })) {
    entries++;
    const name = clean(e.header.name);
    if (name === '' || name.startsWith('..')) continue;
    const t = e.header.type;
    if (t === 'symlink') {
      held.set(name, { kind: 'link', target: clean(posix.join(posix.dirname(name), e.header.linkname ?? '')) });
    } else if (t === 'link') {
      held.set(name, { kind: 'link', target: clean(e.header.linkname ?? '') });
    } else if (t === 'file') {
      if (isSmall(name)) {
        if (e.header.size > MAX_JSON_BLOB) throw invalid(`archive member ${name} is ${e.header.size} bytes, too large for metadata`);
        held.set(name, { kind: 'mem', data: await readBody(e.body, MAX_JSON_BLOB) });
        continue;
      }
      const m = /^blobs\/([a-z0-9]+)\/([a-f0-9]+)$/.exec(name);
      const d = m ? `${m[1]}:${m[2]}` : '';
      const expect = isDigest(d) ? { digest: d, size: e.header.size } : undefined;
      let head: Buffer | undefined;
      const body = Readable.from((async function* () {
        for await (const chunk of e.body) {
          if (head === undefined) head = Buffer.from(chunk.subarray(0, 4));
          else if (head.length < 4) head = Buffer.concat([head, chunk.subarray(0, 4 - head.length)]);
          yield chunk;
        }
      })(), { objectMode: false });
      try {
        const r = await store.ingest(body, expect, signal);
        held.set(name, { kind: 'blob', info: { digest: r.digest, size: r.size, compression: sniffCompression(head ?? Buffer.alloc(0)) } });
      } catch (err: unknown) {
        if (err instanceof KilnError && err.code === 'DIGEST_MISMATCH') throw new KilnError('DIGEST_MISMATCH', `archive member ${name}: ${err.message}`, { hint: 'the archive is corrupt or was modified; export it again' });
        throw err;
      }
    }
  }
  if (entries === 0) throw invalid('the archive is empty', 'give a file written by `kiln save`, `docker save` or `skopeo copy`');
  const lookup = (path: string): Held | undefined => {
    let p = clean(path);
    for (let i = 0; i < 16; i++) {
      const h = held.get(p);
      if (h?.kind !== 'link') return h;
      p = h.target;
    }
    throw invalid(`archive member ${path}: too many levels of links`);
  };
  return {
    kind: 'tar',
    async small(path) {
      const h = lookup(path);
      if (h === undefined) return undefined;
      if (h.kind === 'mem') return h.data;
      if (h.kind === 'blob') return store.readBytes(h.info.digest);
      return undefined;
    },
    async blob(path, expect) {
      const h = lookup(path);
      if (h === undefined) return undefined;
      if (h.kind === 'blob') return checkExpect(path, h.info, expect);
      if (h.kind === 'mem') {
        const r = await store.ingestBytes(h.data);
        return checkExpect(path, { digest: r.digest, size: r.size, compression: sniffCompression(h.data) }, expect);
      }
      return undefined;
    },
  };
}
