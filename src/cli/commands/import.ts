// `kiln import ROOTFS NAME[:TAG]`: a root filesystem (directory, tar, tar.gz/zst, or - for stdin)
// becomes a one-layer image, like `docker import`. A directory is packed deterministically
// (layer/writeTree, gzip); a tar is kept byte for byte as the layer blob (its compression
// decides the media type). Reproducible: with SOURCE_DATE_EPOCH set, `created` and every mtime
// clamp to it, so the same tree gives the same manifest digest on any machine.
import { statSync } from 'node:fs';
import { Transform, pipeline, type Readable } from 'node:stream';
import { createReadStream } from 'node:fs';
import type { Command } from 'commander';
import { KilnError } from '../../errors.js';
import {
  HashingStream, hostPlatform, imageFromParts, layerFromOpener, parsePlatform, pipeThrough,
  type Descriptor, type Digest, type History, type Platform,
} from '../../image/index.js';
import { TAR_BLOCK, decompressLayer, isZeroBlock, layerFromTar, layerMediaType, looksLikeTarHeader, readTar, sniffCompression, writeTree } from '../../layer/index.js';
import { formatReference, parseNormalizedReference } from '../../registry/index.js';
import { writeImage, type Store } from '../../store/index.js';
import { applyChanges } from './changes.js';
import { openStore } from './store.js';
import { unpackImages } from '../unpack.js';

/** SOURCE_DATE_EPOCH as seconds, or undefined when unset; USAGE when malformed. */
export function sourceDateEpoch(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const v = env['SOURCE_DATE_EPOCH'];
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw new KilnError('USAGE', `SOURCE_DATE_EPOCH must be a whole number of seconds, got ${JSON.stringify(v)}`);
  return Number(v);
}

/** RFC 3339 like Go's time.Time JSON (no fractional part when it is zero). */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** The name an image is stored under: the fully qualified reference, as `kiln pull` stores it. */
export function storeName(name: string): string {
  return formatReference(parseNormalizedReference(name));
}

interface LayerInfo {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  readonly diffId: Digest;
}

async function layerFromDir(store: Store, dir: string, epoch: number | undefined, signal?: AbortSignal): Promise<LayerInfo> {
  const tar = writeTree(dir, { ...(epoch !== undefined ? { sourceDateEpoch: epoch } : {}), ...(signal ? { signal } : {}) });
  const r = await layerFromTar(tar, { compression: 'gzip', ...(signal ? { signal } : {}) }, (s: Readable) => store.ingest(s, undefined, signal));
  return { mediaType: r.mediaType, digest: r.digest, size: r.size, diffId: r.diffId };
}

/**
 * Passes a stream through once its start looks like an archive: compressed (gzip, zstd, ...) or
 * a tar header. `kiln import /dev/zero` (two zero blocks: an empty archive) or a stream that is
 * no tar at all then fails at once, instead of filling the disk with what cannot be a layer.
 */
function archiveHead(what: string): Transform {
  let head: Buffer | undefined = Buffer.alloc(0);
  const check = (h: Buffer): KilnError | undefined => {
    if (sniffCompression(h.subarray(0, 4)) !== 'none') return undefined;
    const first = h.subarray(0, TAR_BLOCK);
    if (first.length === TAR_BLOCK && isZeroBlock(first)) return new KilnError('ARCHIVE_INVALID', `${what} is an empty archive`);
    if (!looksLikeTarHeader(first)) return new KilnError('ARCHIVE_INVALID', `${what} is not a tar archive (or a gzip/zstd-compressed one)`, { hint: 'give a directory, a .tar, .tar.gz or .tar.zst file, or - for stdin' });
    return undefined;
  };
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (head === undefined) return done(null, chunk);
      head = Buffer.concat([head, chunk]);
      if (head.length < TAR_BLOCK) return done();
      const held = head;
      head = undefined;
      done(check(held) ?? null, held);
    },
    flush(done) {
      if (head !== undefined && head.length > 0) {
        const held = head;
        head = undefined;
        const err = check(held);
        if (err) return done(err);
        this.push(held);
      }
      done();
    },
  });
}

async function layerFromFile(store: Store, src: NodeJS.ReadableStream, what: string, signal?: AbortSignal): Promise<LayerInfo> {
  const checked = archiveHead(what);
  pipeline(src, checked, () => undefined); // errors reach the ingest through `checked`
  const r = await store.ingest(checked, undefined, signal);
  // The second pass (from the store) learns the diff_id and checks that this is a tar at all.
  const compression = sniffCompression(await firstBytes(store, r.digest));
  const hash = new HashingStream();
  const tar = pipeThrough((await decompressLayer((await store.open(r.digest, signal)) as unknown as Readable)) as unknown as NodeJS.ReadableStream, hash);
  let entries = 0;
  try {
    // readTar drains the stream to its end after the end-of-archive blocks, so the hash sees it all
    for await (const e of readTar(tar as AsyncIterable<unknown>, { errorCode: 'ARCHIVE_INVALID', ...(signal ? { signal } : {}) })) {
      if (e.header) entries++;
    }
  } catch (e: unknown) {
    if (e instanceof KilnError && (e.code === 'ARCHIVE_INVALID' || e.code === 'LAYER_INVALID')) {
      throw new KilnError('ARCHIVE_INVALID', `${what} is not a tar archive (or a gzip/zstd-compressed one): ${e.message}`, { hint: 'give a directory, a .tar, .tar.gz or .tar.zst file, or - for stdin' });
    }
    throw e;
  }
  if (entries === 0) throw new KilnError('ARCHIVE_INVALID', `${what} is an empty archive`);
  return { mediaType: layerMediaType(compression), digest: r.digest, size: r.size, diffId: hash.digest() };
}

async function firstBytes(store: Store, d: Digest): Promise<Buffer> {
  const s = await store.open(d);
  for await (const chunk of s as AsyncIterable<Buffer>) {
    (s as unknown as Readable).destroy();
    return chunk.subarray(0, 4);
  }
  return Buffer.alloc(0);
}

export interface ImportOptions {
  readonly changes?: readonly string[];
  readonly platform?: Platform;
  readonly message?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal;
}

/** Imports a rootfs into the store under `name` (stored as given); returns the image ID and manifest descriptor. */
export async function importRootfs(store: Store, source: string, name: string, opts: ImportOptions = {}): Promise<{ id: Digest; desc: Descriptor }> {
  const epoch = sourceDateEpoch(opts.env);
  const created = rfc3339(epoch !== undefined ? epoch * 1000 : Date.now());
  const runtime = applyChanges({}, opts.changes ?? []); // before any I/O: a bad --change fails fast
  let layer: LayerInfo;
  if (source === '-') layer = await layerFromFile(store, process.stdin, 'stdin', opts.signal);
  else {
    let st;
    try {
      st = statSync(source);
    } catch (e: unknown) {
      throw new KilnError('IO', `cannot read ${source}: ${(e as Error).message}`, { cause: e });
    }
    layer = st.isDirectory() ? await layerFromDir(store, source, epoch, opts.signal) : await layerFromFile(store, createReadStream(source), source, opts.signal);
  }
  const platform = opts.platform ?? hostPlatform();
  const history: History = { created, created_by: 'kiln import', ...(opts.message ? { comment: opts.message } : {}) };
  const image = imageFromParts({
    format: 'oci',
    config: {
      created,
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      config: runtime,
      history: [history],
    },
    layers: [layerFromOpener({ mediaType: layer.mediaType, open: (s) => store.open(layer.digest, s), openerVerifies: true, digest: layer.digest, size: layer.size, diffId: layer.diffId })],
  });
  const desc = await writeImage(store, image, opts.signal); // every blob stored before the name
  await store.tag({ name, descriptor: desc });
  await unpackImages(store, store.root, [{ name, desc }]);
  return { id: (await image.manifest()).config.digest, desc };
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('Create an image from a root filesystem: a directory, a tarball (.tar, .tar.gz, .tar.zst) or - for stdin')
    .argument('<rootfs>', 'directory, tar file, or -')
    .argument('<name>', 'NAME[:TAG] for the new image')
    .option('-c, --change <instruction>', 'apply a Dockerfile instruction to the image config (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL, ...); repeatable', collect, [])
    .option('-m, --message <text>', 'set a comment in the image history')
    .option('--platform <os/arch[/variant]>', 'platform the image is for (default: this machine)')
    .action(async (rootfs: string, name: string, opts: { change: string[]; message?: string; platform?: string }) => {
      const full = storeName(name);
      const store = openStore();
      const { id } = await importRootfs(store, rootfs, full, {
        changes: opts.change,
        ...(opts.message ? { message: opts.message } : {}),
        ...(opts.platform ? { platform: parsePlatform(opts.platform) } : {}),
      });
      process.stdout.write(`${id}\n`);
    });
}
