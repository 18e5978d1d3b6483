// `kiln build -` and `kiln build https://…`: the build context, or the Dockerfile alone, on
// standard input or at a URL, as buildx reads stdin (build/build.go LoadInputs) and BuildKit an
// http context (dockerui). Standard input is an archive when it starts with a compression
// magic (gzip, bzip2, xz; zstd too) or a tar header: then it is the context, extracted like ADD
// extracts a local archive (owners, modes and links from the tar), and the Dockerfile is `-f`'s
// path inside it (default `Dockerfile`). Anything else is the Dockerfile, with an empty context.
// BuildKit reads an archive context as a filesystem state, not a local directory: no
// .dockerignore applies and COPY keeps the owners the tar gives (build.ts and build/ see
// `contextFetched`).
import { createWriteStream, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { KilnError, isKilnError } from '../../errors.js';
import { download, extractArchive, isArchive, sniffFile } from '../../build/index.js';
import { makeTempDir, removeTree } from '../../support/index.js';
import { readDockerfile } from './build-flags.js';

export interface StdinContext {
  /** The context directory: the extracted archive, or an empty directory. */
  readonly dir: string;
  /** Set when standard input was the Dockerfile itself (its text). */
  readonly dockerfileText?: string;
  /** Where the Dockerfile is, when the reader found it (a Git context: build-git.ts). */
  readonly dockerfilePath?: string;
  /** Removes what was written for this build (also run at exit). */
  readonly remove: () => void;
}

/** Where a context that is not a directory comes from, for messages. */
interface Origin {
  /** "standard input" or the URL. */
  readonly name: string;
  /** What to do about an empty or unreadable one. */
  readonly hint: string;
}

/**
 * Makes a temporary work dir under `tmpParent`, lets `fetch` put the bytes in a file there, and
 * turns that file into a context (see the header). `file` is `-f`: a path inside an archive; with
 * a Dockerfile alone it is ambiguous (buildx's error).
 */
/**
 * Runs `fill` with a new temporary dir under `tmpParent` (`prefix`XXXXXX) and the function that
 * removes it: on a failure it is removed at once, otherwise when the caller says or kiln exits
 * (Ctrl-C may come before the build's own handlers are in place).
 */
export async function inFetchDir<T>(tmpParent: string, prefix: string, fill: (work: string, remove: () => void) => Promise<T>): Promise<T> {
  mkdirSync(tmpParent, { recursive: true });
  const work = makeTempDir(prefix, tmpParent);
  const remove = (): void => removeTree(work);
  process.once('exit', remove);
  try {
    return await fill(work, remove);
  } catch (e) {
    remove();
    throw e;
  }
}

async function contextFrom(origin: Origin, tmpParent: string, file: string | undefined, fetch: (work: string) => Promise<string>): Promise<StdinContext> {
  return inFetchDir(tmpParent, 'kiln-stdin-', async (work, remove) => {
    const spool = await fetch(work);
    const dir = join(work, 'context');
    mkdirSync(dir, { mode: 0o755 });
    if (statSync(spool).size === 0) throw new KilnError('USAGE', `${origin.name} is empty: a build context (a tar archive) or a Dockerfile was expected`, { hint: origin.hint });
    if (sniffFile(spool) !== 'none' || (await isArchive(spool))) {
      try {
        await extractArchive(spool, dir);
      } catch (e: unknown) {
        throw new KilnError('ARCHIVE_INVALID', `the build context from ${origin.name} cannot be extracted: ${isKilnError(e) ? e.message.replace(/^cannot extract "[^"]*": /, '') : String(e)}`, {
          cause: e,
          hint: 'a context is a tar archive (optionally gzip, bzip2, xz or zstd compressed), or a Dockerfile alone',
        });
      }
      return { dir, remove };
    }
    if (file !== undefined) {
      throw new KilnError('USAGE', `ambiguous Dockerfile source: both ${origin.name === 'standard input' ? 'stdin' : 'the URL'} and flag correspond to Dockerfiles`, { hint: 'drop -f to build the Dockerfile alone, or give the context as a tar archive' });
    }
    return { dir, dockerfileText: readDockerfile(spool, 'Dockerfile'), remove };
  });
}

/** `kiln build -`: standard input as the context (see the header); `-f -` leaves no context at all (buildx's error). */
export async function readStdinContext(input: NodeJS.ReadableStream, tmpParent: string, file: string | undefined): Promise<StdinContext> {
  if (file === '-') throw new KilnError('USAGE', "invalid argument: can't use stdin for both build context and dockerfile", { hint: 'give the context as a directory (`kiln build -f - DIR`), or the Dockerfile inside the archive on stdin (`kiln build -f NAME - < ctx.tar`)' });
  return contextFrom({ name: 'standard input', hint: 'e.g. `kiln build - < Dockerfile` or `tar -c . | kiln build -`' }, tmpParent, file, async (work) => {
    const spool = join(work, 'stdin');
    await pipeline(input, createWriteStream(spool));
    return spool;
  });
}

/**
 * `kiln build https://host/ctx.tar.gz`: a context downloaded as ADD downloads (BuildKit's http
 * context): an archive is extracted, anything else is the Dockerfile with an empty context.
 */
export async function readUrlContext(url: string, tmpParent: string, file: string | undefined, signal?: AbortSignal): Promise<StdinContext> {
  return contextFrom({ name: url, hint: 'check the URL: it must serve a tar archive or a Dockerfile' }, tmpParent, file, async (work) => {
    mkdirSync(join(work, 'download'));
    return download(url, join(work, 'download'), undefined, undefined, signal);
  });
}
