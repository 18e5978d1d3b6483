// COPY/ADD execution (see types.ts for the contract) with BuildKit's semantics: fsutil's copy
// (dir sources copy their contents, file sources land at dest or dest/NAME, parents created),
// ADD's archive extraction, URL download and Git checkout. Selection lives in select.ts/inputs.ts,
// writing in copier.ts, ADD extras in archive.ts/remote.ts/git.ts, the cache-key digest in hash.ts.
import { lstatSync, mkdirSync, statSync, utimesSync, writeFileSync, chmodSync } from 'node:fs';
import { dirname, posix } from 'node:path';
import { KilnError } from '../../errors.js';
import { resolveInRoot } from '../../exec/index.js';
import { makeTempDir, removeTree, Turns } from '../../support/index.js';
import { extractArchive, isArchive } from './archive.js';
import { Copier } from './copier.js';
import { checkoutGit } from './git.js';
import { computeCopyDigest } from './hash.js';
import { selectInputs, type Input } from './inputs.js';
import { parseChmod } from './mode.js';
import { resolveChown } from './owner.js';
import { download } from './remote.js';
import type { ReusedFiles, CopyTarget } from './reuse.js';
import { resolveSource, walkMatch, type Entry } from './select.js';
import type { CopyInputDigest, CopyRequest } from './types.js';
export type { CopyRequest, CopyInputDigest } from './types.js';
export type { Input } from './inputs.js';
export { seedLayer, type CopyTarget, type ReusedFiles } from './reuse.js';
export { computeCopyDigest, digestFile, digestHeader, xattrDigest, type FileDigester } from './hash.js';
export { inputsSignature, type InputsSignature } from './signature.js';
export { selectInputs } from './inputs.js';
export { checkoutGit, resolveGit, type GitAccess, type PinnedGit } from './git.js';
export { parseChmod, type ChmodSpec } from './mode.js';
export { namesUserOrGroup, resolveChown, type Owner } from './owner.js';

function statOrUndefined(p: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}

/** `dest` as a clean absolute path, and whether it was written as a directory (trailing `/` or `/.`). */
function splitDest(dest: string): { clean: string; dirSyntax: boolean } {
  const dirSyntax = dest.endsWith('/') || dest.endsWith('/.') || dest === '.' || dest === '';
  return { clean: posix.normalize('/' + dest).replace(/(.)\/+$/, '$1'), dirSyntax };
}

function leafEntries(abs: string): Entry[] {
  return [{ rel: '', abs, st: lstatSync(abs, { bigint: true }), kind: 'leaf', parentOnly: false }];
}

export interface CopyOptions {
  /** The request's inputs as the cache-key walk selected them (one walk for both). */
  readonly inputs?: readonly Input[];
  /** What a seeded destination layer already holds (reuse.ts). */
  readonly reuse?: ReusedFiles;
}

/**
 * Copies the request's sources into destRoot with Docker's COPY/ADD semantics. Returns where
 * each match landed when every input is a plain local match (what reuse.ts needs next time).
 */
export async function executeCopy(req: CopyRequest, signal?: AbortSignal, opts: CopyOptions = {}): Promise<{ targets?: CopyTarget[] }> {
  try {
    return await copyAll(req, signal, opts);
  } catch (e) {
    throw asKilnError(e, signal);
  }
}

/** File system errors (EACCES, ENOSPC, ...) become KilnError IO with the OS message. */
function asKilnError(e: unknown, signal?: AbortSignal): KilnError {
  if (e instanceof KilnError) return e;
  if (signal?.aborted) return new KilnError('ABORTED', 'operation aborted', { cause: e });
  const err = e as NodeJS.ErrnoException;
  return new KilnError('IO', `copy failed: ${err?.message ?? String(e)}`, {
    cause: e,
    ...(err?.code === 'EACCES' || err?.code === 'EPERM' ? { hint: 'kiln cannot read or write this path; check its permissions' } : {}),
    ...(err?.code === 'ENOSPC' ? { hint: 'the disk holding the build state is full' } : {}),
  });
}

async function copyAll(req: CopyRequest, signal: AbortSignal | undefined, opts: CopyOptions): Promise<{ targets?: CopyTarget[] }> {
  signal?.throwIfAborted();
  const chmod = req.chmod !== undefined ? parseChmod(req.chmod) : undefined;
  const inputs = opts.inputs ?? (await selectInputs(req, signal));
  const chown = req.chown !== undefined ? resolveChown(req.destRoot, req.chown) : undefined;
  const destRoot = req.destRoot.replace(/(.)\/+$/, '$1');
  const dest = splitDest(req.dest);
  const destAbs = (): string => resolveInRoot(destRoot, dest.clean);
  checkMultipleSources(inputs, dest.dirSyntax, destAbs(), req.dest);

  // Extended attributes travel with the files, from the context too (fsutil sends and writes
  // them); an image layer keeps only security.capability of them (build/assemble.ts).
  const copier = new Copier({ destRoot, chown, keepSourceOwner: req.srcKind === 'rootfs', chmod, signal, xattrs: true, reuse: opts.reuse });
  const generated = new Copier({ destRoot, chown, keepSourceOwner: false, chmod, signal, xattrs: false });
  const unpackLocal = req.add !== undefined && req.add.unpack !== false;
  const unpackUrl = req.add?.unpack === true;

  /** fsutil Copy + prepareTargetDir for one source; returns the path the source becomes. */
  const prepare = (c: Copier, srcIsDir: boolean, name: string, dirContents: boolean): string => {
    c.mkdirAll(resolveInRoot(destRoot, dest.dirSyntax ? dest.clean : posix.dirname(dest.clean)));
    const dst = destAbs();
    const fiDest = statOrUndefined(dst);
    let target = dst;
    if ((!dirContents && srcIsDir && fiDest) || (!srcIsDir && fiDest?.isDirectory())) target = `${dst}/${name}`;
    c.mkdirAll(dirContents && srcIsDir && !fiDest ? target : dirname(target));
    return target;
  };
  const extract = async (archive: string): Promise<void> => {
    const dir = destAbs();
    copier.mkdirAll(dir, 0o755);
    // BuildKit (Docker 26) keeps the archive's owners for extracted entries, --chown or not
    // (test/conformance add-tar); only the destination it creates gets --chown.
    await extractArchive(archive, dir, signal);
  };

  let tmp: string | undefined;
  const tmpDir = (): string => (tmp ??= makeTempDir('kiln-copy-'));
  let targets: CopyTarget[] | undefined = req.add === undefined ? [] : undefined;
  try {
    for (const input of inputs) {
      signal?.throwIfAborted();
      if (input.kind === 'local') {
        copier.nextSource();
        const m = input.match;
        if (unpackLocal && m.st.isFile() && (await isArchive(m.abs))) {
          await extract(m.abs);
          continue;
        }
        const target = prepare(copier, m.st.isDirectory(), m.name, true);
        const created = copier.copyEntries(input.entries, target);
        targets?.push({ rel: m.rel, dir: m.st.isDirectory(), target: target.slice(destRoot.length + 1), created });
      } else if (input.kind === 'url') {
        targets = undefined;
        const dir = makeTempDir('url-', tmpDir());
        const file = await download(input.url, dir, req.add?.checksum, req.sourceDateEpoch, signal);
        if (unpackUrl && (await isArchive(file))) {
          await extract(file);
          continue;
        }
        generated.nextSource();
        generated.copyEntries(leafEntries(file), prepare(generated, false, posix.basename(file), false));
      } else if (input.kind === 'git') {
        targets = undefined;
        // llb.Copy(git, "/", dest) without CopyDirContentsOnly: a new dest takes the checkout's top
        // (0755, and --chmod); `dest/` is made first by fsutil's MkdirAll (0755, no --chmod)
        if (req.git) mkdirSync(req.git.workDir, { recursive: true });
        const work = makeTempDir('kiln-git-', req.git?.workDir ?? tmpDir());
        try {
          const root = await checkoutGit(input.pin, work, req.add?.keepGitDir === true, req.git, signal);
          const tree = { root, kind: 'rootfs' as const, turns: new Turns(signal) };
          const entries = await walkMatch(tree, (await resolveSource(tree, '/'))[0]!, { exclude: input.exclude });
          generated.nextSource();
          generated.mkdirAll(resolveInRoot(destRoot, dest.dirSyntax ? dest.clean : posix.dirname(dest.clean)));
          if (generated.copyEntries(entries, destAbs()) && chmod) chmodSync(destAbs(), chmod.apply(Number(entries[0]!.st.mode) & 0o7777, true));
        } finally {
          removeTree(work);
        }
      } else {
        targets = undefined;
        const dir = makeTempDir('inline-', tmpDir());
        const name = posix.basename(posix.normalize('/' + input.path)) || 'file';
        const file = `${dir}/${name}`;
        writeFileSync(file, input.data, { mode: 0o644 });
        chmodSync(file, 0o644);
        const t = req.sourceDateEpoch ?? Date.now() / 1000;
        utimesSync(file, t, t);
        generated.nextSource();
        generated.copyEntries(leafEntries(file), prepare(generated, false, name, false));
      }
    }
  } finally {
    if (tmp !== undefined) removeTree(tmp);
  }
  return targets !== undefined ? { targets } : {};
}

/**
 * Several sources into a path that is not a directory would overwrite each other (BuildKit
 * silently keeps the last file): refuse it like Docker's documentation says.
 */
function checkMultipleSources(inputs: readonly Input[], dirSyntax: boolean, destAbs: string, dest: string): void {
  if (dirSyntax || inputs.length < 2) return;
  if (statOrUndefined(destAbs)?.isDirectory()) return;
  const allDirs = inputs.every((i) => (i.kind === 'local' && i.match.st.isDirectory()) || i.kind === 'git');
  if (allDirs) return; // directories merge into one new directory
  throw new KilnError('INVALID_FLAG', 'When using COPY with more than one source file, the destination must be a directory and end with a /', {
    hint: `add a trailing slash to the destination: ${dest}/`,
  });
}

/** Digest over what the COPY would read (paths, metadata, content), for the cache key. */
export async function hashCopyInputs(req: Omit<CopyRequest, 'destRoot'>, signal?: AbortSignal): Promise<CopyInputDigest> {
  try {
    return await computeCopyDigest(req, undefined, signal);
  } catch (e) {
    throw asKilnError(e, signal);
  }
}
