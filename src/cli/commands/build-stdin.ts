// `kiln build -`: the build context, or the Dockerfile alone, on standard input, as buildx reads
// it (build/build.go LoadInputs). Standard input is an archive when it starts with a compression
// magic (gzip, bzip2, xz; zstd too) or a tar header: then it is the context, extracted like ADD
// extracts a local archive (owners, modes and links from the tar), and the Dockerfile is `-f`'s
// path inside it (default `Dockerfile`). Anything else is the Dockerfile, with an empty context.
// BuildKit reads an archive context as a filesystem state, not a local directory: no
// .dockerignore applies and COPY keeps the owners the tar gives (build.ts and build/ see
// `contextFromStdin`).
import { createWriteStream, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { KilnError, isKilnError } from '../../errors.js';
import { extractArchive, isArchive, sniffFile } from '../../build/index.js';
import { makeTempDir, removeTree } from '../../support/index.js';
import { readDockerfile } from './build-flags.js';

export interface StdinContext {
  /** The context directory: the extracted archive, or an empty directory. */
  readonly dir: string;
  /** Set when standard input was the Dockerfile itself (its text). */
  readonly dockerfileText?: string;
  /** Removes what was written for this build (also run at exit). */
  readonly remove: () => void;
}

/**
 * Reads standard input into a context under `tmpParent`. `file` is `-f`: a path inside an archive;
 * with a Dockerfile on stdin it is ambiguous, and `-f -` leaves no context at all (buildx's errors).
 */
export async function readStdinContext(input: NodeJS.ReadableStream, tmpParent: string, file: string | undefined): Promise<StdinContext> {
  if (file === '-') throw new KilnError('USAGE', "invalid argument: can't use stdin for both build context and dockerfile", { hint: 'give the context as a directory (`kiln build -f - DIR`), or the Dockerfile inside the archive on stdin (`kiln build -f NAME - < ctx.tar`)' });
  mkdirSync(tmpParent, { recursive: true });
  const work = makeTempDir('kiln-stdin-', tmpParent);
  const remove = (): void => removeTree(work);
  process.once('exit', remove); // Ctrl-C before the build's own handlers are in place
  try {
    const spool = join(work, 'stdin');
    await pipeline(input, createWriteStream(spool));
    const dir = join(work, 'context');
    mkdirSync(dir, { mode: 0o755 });
    if (statSync(spool).size === 0) {
      throw new KilnError('USAGE', 'standard input is empty: `kiln build -` reads the build context (a tar archive) or a Dockerfile from it', { hint: 'e.g. `kiln build - < Dockerfile` or `tar -c . | kiln build -`' });
    }
    if (sniffFile(spool) !== 'none' || (await isArchive(spool))) {
      try {
        await extractArchive(spool, dir);
      } catch (e: unknown) {
        throw new KilnError('ARCHIVE_INVALID', `the build context on standard input cannot be extracted: ${isKilnError(e) ? e.message.replace(/^cannot extract "stdin": /, '') : String(e)}`, {
          cause: e,
          hint: 'send a tar archive (optionally gzip, bzip2, xz or zstd compressed), or a Dockerfile',
        });
      }
      return { dir, remove };
    }
    if (file !== undefined) {
      throw new KilnError('USAGE', 'ambiguous Dockerfile source: both stdin and flag correspond to Dockerfiles', { hint: 'drop -f to build the Dockerfile on stdin, or send the context as a tar archive' });
    }
    return { dir, dockerfileText: readDockerfile(spool, 'Dockerfile'), remove };
  } catch (e) {
    remove();
    throw e;
  }
}
