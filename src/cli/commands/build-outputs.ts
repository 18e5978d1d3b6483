// Writes `kiln build --output` targets once the image is built: the final stage's files as a
// directory (type=local) or a tar (type=tar), the image as an OCI or docker archive. A file is
// written atomically (temp + fsync + rename); dest=- streams to stdout, as buildx does.
import { lstatSync, lutimesSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { KilnError } from '../../errors.js';
import type { BuildResult } from '../../build/index.js';
import type { Descriptor } from '../../image/index.js';
import { dockerArchiveStream, ociArchiveStream, writeStreamAtomic, type NamedImage } from '../../export/index.js';
import { writeTree } from '../../layer/index.js';
import type { createSnapshotter } from '../../snapshot/index.js';
import type { Store } from '../../store/index.js';
import { makeDirs, output } from '../../support/index.js';
import { tagName } from './build-flags.js';

type OutputSpec = Readonly<Record<string, string>>;
type Snapshotter = Awaited<ReturnType<typeof createSnapshotter>>;

/** Outputs that write to stdout must not share it with each other, with -q's image ID, or go to a terminal. */
export function checkStdoutOutputs(outputs: readonly OutputSpec[], quiet: boolean, stdoutIsTty: boolean): void {
  const toStdout = outputs.filter((o) => o['dest'] === '-');
  if (toStdout.length === 0) return;
  if (toStdout.length > 1) throw new KilnError('USAGE', 'only one --output can write to stdout (dest=-)');
  if (quiet) throw new KilnError('USAGE', '-q prints the image ID on stdout, where --output dest=- writes its archive', { hint: 'use --iidfile FILE for the image ID' });
  if (stdoutIsTty) throw new KilnError('USAGE', 'refusing to write an archive to a terminal (--output dest=-)', { hint: 'redirect stdout to a file or a pipe, or give dest=FILE' });
}

/**
 * The final stage's files as a tar (directories first, then their entries, by name; no root
 * entry), with mtimes as BuildKit's tar exporter writes them: rounded to seconds, or all
 * SOURCE_DATE_EPOCH when it is set.
 */
async function stageTar(result: BuildResult, snapshotter: Snapshotter, write: (tar: Readable) => Promise<void>, epoch: number | undefined): Promise<void> {
  if (result.target.snapshot === null) return write(Readable.from([Buffer.alloc(1024)])); // scratch, nothing copied: an empty tar
  const view = await snapshotter.view(result.target.snapshot);
  try {
    await write(writeTree(view.path, { roundMtimes: true, ...(epoch !== undefined ? { mtimeEpoch: epoch } : {}) }));
  } finally {
    await view.release();
  }
}

/** Sets the times of `path` and everything beneath it (directories after their entries), without following links. */
function setTimesBelow(path: string, sec: number): void {
  const st = lstatSync(path);
  if (st.isDirectory()) for (const n of readdirSync(path)) setTimesBelow(join(path, n), sec);
  lutimesSync(path, sec, sec);
}

/**
 * The final stage's files in `dest`, as buildx receives a local export: a missing `dest` is
 * made 0700, and `dest` itself keeps its metadata (fsutil never sends the root); every file
 * belongs to the user who runs the build (buildx's receiver sets the client's uid/gid), modes
 * and xattrs are kept, and with SOURCE_DATE_EPOCH every mtime is that time.
 */
async function exportLocal(result: BuildResult, snapshotter: Snapshotter, dest: string, epoch: number | undefined): Promise<void> {
  try {
    makeDirs(dest, 0o700);
  } catch (e: unknown) {
    throw new KilnError('IO', `cannot create the output directory ${dest}: ${(e as Error).message}`, { cause: e, hint: 'name a directory you can create, e.g. dest=./out' });
  }
  if (result.target.snapshot === null) return;
  const view = await snapshotter.view(result.target.snapshot);
  try {
    const names = readdirSync(view.path);
    if (names.length === 0) return;
    // as root, files cp makes are root's: the user's, as buildx leaves them
    await output('cp', ['-a', '--no-preserve=ownership', '-t', dest, '--', ...names.map((n) => join(view.path, n))]);
    if (epoch !== undefined) for (const n of names) setTimesBelow(join(dest, n), epoch);
  } finally {
    await view.release();
  }
}

/** Writes every --output (checked by checkOutput and checkStdoutOutputs) for the built image `desc`, named `names` (-t). */
export async function writeOutputs(outputs: readonly OutputSpec[], result: BuildResult, desc: Descriptor, names: readonly string[], store: Store, snapshotter: Snapshotter, epoch?: number): Promise<void> {
  for (const o of outputs) {
    const dest = o['dest'];
    const write = async (stream: Readable): Promise<void> => {
      if (dest === '-') await pipeline(stream, process.stdout, { end: false });
      else await writeStreamAtomic(resolve(dest!), stream);
    };
    if (o['type'] === 'local') await exportLocal(result, snapshotter, resolve(dest!), epoch);
    if (o['type'] === 'tar') await stageTar(result, snapshotter, write, epoch);
    // an archive's names: -t's, and its own name=
    const own = o['name'] !== undefined ? [tagName(o['name'])] : [];
    const named: NamedImage[] = [...new Set([...names, ...own])].map((name) => ({ name, desc }));
    if (o['type'] === 'oci') await write(await ociArchiveStream(store, named.length ? named : [{ name: 'latest', desc }]));
    if (o['type'] === 'docker') await write(await dockerArchiveStream(store, named));
  }
}
