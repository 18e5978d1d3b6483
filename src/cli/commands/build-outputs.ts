// Writes `kiln build --output` targets once the image is built: the final stage's files as a
// directory (type=local) or a tar (type=tar), the image as an OCI or docker archive. A file is
// written atomically (temp + fsync + rename); dest=- streams to stdout, as buildx does.
import { resolve } from 'node:path';
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

/** The final stage's files as a tar (directories first, then their entries, by name; no root entry). */
async function stageTar(result: BuildResult, snapshotter: Snapshotter, write: (tar: Readable) => Promise<void>): Promise<void> {
  if (result.target.snapshot === null) return write(Readable.from([Buffer.alloc(1024)])); // scratch, nothing copied: an empty tar
  const view = await snapshotter.view(result.target.snapshot);
  try {
    await write(writeTree(view.path));
  } finally {
    await view.release();
  }
}

async function exportLocal(result: BuildResult, snapshotter: Snapshotter, dest: string): Promise<void> {
  try {
    makeDirs(dest);
  } catch (e: unknown) {
    throw new KilnError('IO', `cannot create the output directory ${dest}: ${(e as Error).message}`, { cause: e, hint: 'name a directory you can create, e.g. dest=./out' });
  }
  if (result.target.snapshot === null) return;
  const view = await snapshotter.view(result.target.snapshot);
  try {
    await output('cp', ['-a', '--', `${view.path}/.`, dest]);
  } finally {
    await view.release();
  }
}

/** Writes every --output (checked by checkOutput and checkStdoutOutputs) for the built image `desc`, named `names` (-t). */
export async function writeOutputs(outputs: readonly OutputSpec[], result: BuildResult, desc: Descriptor, names: readonly string[], store: Store, snapshotter: Snapshotter): Promise<void> {
  for (const o of outputs) {
    const dest = o['dest'];
    const write = async (stream: Readable): Promise<void> => {
      if (dest === '-') await pipeline(stream, process.stdout, { end: false });
      else await writeStreamAtomic(resolve(dest!), stream);
    };
    if (o['type'] === 'local') await exportLocal(result, snapshotter, resolve(dest!));
    if (o['type'] === 'tar') await stageTar(result, snapshotter, write);
    // an archive's names: -t's, and its own name=
    const own = o['name'] !== undefined ? [tagName(o['name'])] : [];
    const named: NamedImage[] = [...new Set([...names, ...own])].map((name) => ({ name, desc }));
    if (o['type'] === 'oci') await write(await ociArchiveStream(store, named.length ? named : [{ name: 'latest', desc }]));
    if (o['type'] === 'docker') await write(await dockerArchiveStream(store, named));
  }
}
