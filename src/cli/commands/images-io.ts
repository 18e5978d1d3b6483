// Images in and out of the store as files: `kiln save`, `kiln load` (docker-archive, OCI archive,
// OCI layout dir) and `kiln inspect` (docker image inspect's JSON, plus the manifest).
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { KilnError } from '../../errors.js';
import { parseConfig, parseManifest, parsePlatform } from '../../image/index.js';
import {
  dockerArchiveStream, ociArchiveStream, readArchive, writeDockerArchive, writeOciArchive, writeOciLayout, type NamedImage,
} from '../../export/index.js';
import { familiarString, formatReference, parseNormalizedReference } from '../../registry/index.js';
import { resolveManifest, type RefEntry, type Store } from '../../store/index.js';
import { findImage, openStore } from './store.js';
import { imageHistory, withSizes } from './history.js';
import { unpackImages } from '../unpack.js';

/** A name as typed, its fully qualified form, or an image ID → the store's entries. */
export async function lookup(store: Store, arg: string): Promise<{ refs: RefEntry[]; byId: boolean }> {
  const refs = store.refs();
  const candidates = [arg];
  try {
    candidates.push(formatReference(parseNormalizedReference(arg)));
  } catch {
    /* not a reference */
  }
  for (const c of candidates) {
    const e = refs.find((r) => r.name === c);
    if (e) return { refs: [e], byId: false };
  }
  return findImage(store, arg);
}

/** The familiar form Docker shows (`app:1`, `example.com/x:2`), or the name as is. */
export function familiar(name: string): string {
  try {
    return familiarString(parseNormalizedReference(name));
  } catch {
    return name;
  }
}

async function inspectOne(store: Store, entry: RefEntry, sizes: boolean): Promise<Record<string, unknown>> {
  const mdesc = await resolveManifest(store, entry.descriptor);
  const parsed = parseManifest(await store.readBytes(mdesc.digest), mdesc.mediaType);
  if (parsed.kind !== 'manifest') throw new KilnError('INTERNAL', 'expected a manifest');
  const m = parsed.manifest;
  const config = parseConfig(await store.readBytes(m.config.digest));
  const id = m.config.digest;
  // every name whose image has the same ID
  const tags: string[] = [];
  const digests: string[] = [];
  for (const r of store.refs()) {
    let same = r.descriptor.digest === entry.descriptor.digest;
    if (!same) {
      try {
        const d = await resolveManifest(store, r.descriptor);
        const p = parseManifest(await store.readBytes(d.digest), d.mediaType);
        same = p.kind === 'manifest' && p.manifest.config.digest === id;
      } catch {
        same = false;
      }
    }
    if (!same) continue;
    if (r.name.includes('@')) digests.push(familiar(r.name));
    else tags.push(familiar(r.name));
  }
  const last = config.history?.[config.history.length - 1];
  return {
    Id: id,
    RepoTags: tags,
    RepoDigests: digests,
    Parent: '',
    Comment: last?.comment ?? '',
    Created: config.created ?? '',
    Author: config.author ?? '',
    Config: config.config ?? {},
    Architecture: config.architecture,
    ...(config.variant ? { Variant: config.variant } : {}),
    Os: config.os,
    Size: m.layers.reduce((a, l) => a + l.size, 0),
    RootFS: { Type: 'layers', Layers: config.rootfs.diff_ids },
    Manifest: { Digest: mdesc.digest, MediaType: mdesc.mediaType, Size: mdesc.size, ...(mdesc.digest !== entry.descriptor.digest ? { Index: entry.descriptor.digest } : {}) },
    Layers: await layersWithHistory(store, entry, sizes),
  };
}

/**
 * Per layer: digest, diff id, media type, compressed size, and the history entry that made it
 * (what `kiln history` shows); with `sizes`, also its uncompressed size (kiln history's SIZE).
 */
async function layersWithHistory(store: Store, entry: RefEntry, sizes: boolean): Promise<Record<string, unknown>[]> {
  const { rows } = await imageHistory(store, entry);
  if (sizes) await withSizes(store, rows);
  return rows.flatMap((r) =>
    r.layer
      ? [{
          Digest: r.layer.descriptor.digest,
          DiffID: r.layer.diffId,
          MediaType: r.layer.descriptor.mediaType,
          Size: r.layer.descriptor.size,
          ...(sizes ? { UncompressedSize: r.size ?? 0 } : {}),
          Created: r.created ?? '',
          CreatedBy: r.createdBy,
          Comment: r.comment,
        }]
      : [],
  );
}

function images(store: Store, args: readonly string[]): Promise<NamedImage[]> {
  return (async () => {
    const out: NamedImage[] = [];
    for (const a of args) {
      const { refs, byId } = await lookup(store, a);
      if (byId) for (const r of refs) out.push({ name: familiar(r.name), desc: r.descriptor });
      else out.push({ name: a, desc: refs[0]!.descriptor });
    }
    return out;
  })();
}

export function registerImagesIo(program: Command): void {
  program
    .command('inspect')
    .description('Show details of one or more images as JSON (like docker image inspect, plus the manifest and layers)')
    .argument('<image...>', 'names or image IDs')
    .option('-s, --size', "add each layer's uncompressed size (UncompressedSize, as kiln history's SIZE; reads a layer once)")
    .action(async (args: string[], opts: { size?: boolean }) => {
      const store = openStore();
      const out: Record<string, unknown>[] = [];
      const missing: string[] = [];
      for (const a of args) {
        try {
          const { refs } = await lookup(store, a);
          out.push(await inspectOne(store, refs[0]!, opts.size === true));
        } catch (e: unknown) {
          if (!(e instanceof KilnError && e.code === 'IMAGE_NOT_FOUND')) throw e;
          missing.push(a);
        }
      }
      process.stdout.write(`${JSON.stringify(out, null, 4)}\n`);
      if (missing.length) {
        throw new KilnError('IMAGE_NOT_FOUND', `No such image: ${missing.join(', ')}`, { hint: 'list local images with `kiln images`' });
      }
    });

  program
    .command('save')
    .description('Save images to a tar archive (docker-archive by default, like docker save; or an OCI archive or layout)')
    .argument('<image...>', 'names or image IDs')
    .option('-o, --output <file>', 'write to a file instead of stdout (a directory for --format oci-dir)')
    .option('--format <format>', 'docker (docker load reads it), oci (OCI archive) or oci-dir (OCI layout directory)', 'docker')
    .option('--platform <os/arch[/variant]>', 'which platform of a multi-platform image (docker format only; default: this machine)')
    .action(async (args: string[], opts: { output?: string; format: string; platform?: string }) => {
      const store = openStore();
      const imgs = await images(store, args);
      const platform = opts.platform ? parsePlatform(opts.platform) : undefined;
      const dockerOpts = platform ? { platform } : {};
      switch (opts.format) {
        case 'docker':
        case 'oci':
          if (opts.output) {
            if (opts.format === 'docker') await writeDockerArchive(store, imgs, opts.output, dockerOpts);
            else await writeOciArchive(store, imgs, opts.output);
            return;
          }
          if (process.stdout.isTTY) throw new KilnError('USAGE', 'refusing to write an archive to a terminal', { hint: 'use -o FILE or redirect stdout' });
          await pipeline(opts.format === 'docker' ? await dockerArchiveStream(store, imgs, dockerOpts) : await ociArchiveStream(store, imgs), process.stdout);
          return;
        case 'oci-dir':
          if (!opts.output) throw new KilnError('USAGE', '--format oci-dir needs -o DIR');
          await writeOciLayout(store, imgs, opts.output);
          return;
        default:
          throw new KilnError('USAGE', `unknown --format ${JSON.stringify(opts.format)}`, { hint: 'use docker, oci or oci-dir' });
      }
    });

  program
    .command('load')
    .description('Load images from a docker-archive, an OCI archive (optionally gzip-compressed) or an OCI layout directory')
    .option('-i, --input <path>', 'read from a file or OCI layout directory instead of stdin')
    .option('-q, --quiet', 'print nothing but errors')
    .action(async (opts: { input?: string; quiet?: boolean }) => {
      if (!opts.input && process.stdin.isTTY) {
        throw new KilnError('USAGE', 'requested load from stdin, but stdin is a terminal', { hint: 'use -i FILE or redirect stdin' });
      }
      const store = openStore();
      const result = await readArchive(store, opts.input ?? process.stdin);
      // every blob is stored: now the names, in one atomic update
      const entries: RefEntry[] = [];
      const lines: string[] = [];
      for (const img of result.images) {
        if (img.names.length === 0) {
          lines.push(`Loaded image ID: ${img.id ?? img.desc.digest}`);
          process.stderr.write(`WARNING: image ${img.id ?? img.desc.digest} has no name in the archive and is not kept; name it before saving\n`);
          continue;
        }
        for (const n of img.names) {
          let full = n;
          try {
            full = formatReference(parseNormalizedReference(n));
          } catch {
            /* not a reference: keep the name as given */
          }
          entries.push({ name: full, descriptor: img.desc });
          lines.push(`Loaded image: ${familiar(n)}`);
        }
      }
      if (entries.length) await store.tag(entries);
      await unpackImages(store, store.root, entries.map((e) => ({ name: e.name, desc: e.descriptor })));
      if (!opts.quiet) process.stdout.write(lines.map((l) => `${l}\n`).join(''));
    });
}
