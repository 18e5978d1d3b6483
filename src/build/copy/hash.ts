// The cache-key digest of a COPY/ADD: everything the copy would read after selection
// (.dockerignore, --exclude, wildcards, --parents), in copy order — per entry its relative path,
// type, mode, owner (stage/image sources only: context files become 0:0), size, symlink target,
// device numbers and content digest — plus heredoc data, URLs and every flag that shapes the result.
// Per-file content digests come from a FileDigester, so a stat-keyed cache can supply them.
// URLs count with their --checksum, or else with the digest of what the server sends now; Git
// sources with the commit their ref resolves to now (and the subdir), as BuildKit's git source key.
import { createHash, type Hash } from 'node:crypto';
import { getAttributeSync, listAttributesSync } from 'fs-xattr';
import { closeSync, openSync, readFileSync, readSync, readlinkSync } from 'node:fs';
import type { FileStat } from '../../support/index.js';
import type { CopyInputDigest, CopyRequest } from './types.js';
import { selectInputs, type Input } from './inputs.js';
import { urlKey } from './remote.js';
import type { Entry } from './select.js';

/** Returns the hex sha256 of a regular file's content (`st` is its lstat, for caches keyed on it). */
export type FileDigester = (abs: string, st: FileStat) => string;

const SMALL = 1 << 20;
let chunk: Buffer | undefined;

/** Plain content digest: one read for small files, 1 MiB chunks for big ones (sync: fastest here). */
export const digestFile: FileDigester = (abs, st) => {
  if (st.size <= BigInt(SMALL)) return createHash('sha256').update(readFileSync(abs)).digest('hex');
  const h = createHash('sha256');
  chunk ??= Buffer.allocUnsafe(SMALL);
  const fd = openSync(abs, 'r');
  try {
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      h.update(chunk.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
};

function typeOf(st: FileStat): string {
  if (st.isFile()) return 'f';
  if (st.isDirectory()) return 'd';
  if (st.isSymbolicLink()) return 'l';
  if (st.isCharacterDevice()) return 'c';
  if (st.isBlockDevice()) return 'b';
  if (st.isFIFO()) return 'p';
  return 's';
}

/** Feeds a hash in batches: one update() per ~64 KiB instead of one per entry of a big tree. */
class Batched {
  private buf = '';
  constructor(private readonly h: Hash) {}
  update(s: string): void {
    this.buf += s;
    if (this.buf.length >= 65536) this.flush();
  }
  flush(): void {
    if (this.buf !== '') this.h.update(this.buf);
    this.buf = '';
  }
}

/**
 * The digest of a path's extended attributes ('' when it has none; trusted.overlay.* left out).
 * The copier copies them for every type but symlinks, so they are part of the key.
 */
export function xattrDigest(abs: string): string {
  let names: string[];
  try {
    names = listAttributesSync(abs).filter((n) => !n.startsWith('trusted.overlay.')).sort();
  } catch {
    return '';
  }
  if (names.length === 0) return '';
  const h = createHash('sha256');
  for (const n of names) h.update(`\0${n}\0`).update(getAttributeSync(abs, n));
  return h.digest('hex');
}

/**
 * One entry's line. `links` (per source, as the copier's) maps dev:ino of a multiply-linked file
 * to the first path it was seen at: a later path of the same inode is copied as a hard link, so
 * the link is part of the key (a cached result must be the one a fresh copy makes).
 */
function hashEntry(h: Batched, e: Entry, withOwner: boolean, digest: FileDigester, links: Map<string, string>): void {
  if (e.kind === 'close') {
    h.update(`)${e.rel}\n`);
    return;
  }
  const st = e.st;
  const t = typeOf(st);
  const fields = [e.kind === 'open' ? '(' : '-', e.rel, t, (Number(st.mode) & 0o7777).toString(8), e.parentOnly ? 'p' : ''];
  if (withOwner) fields.push(`${st.uid}:${st.gid}`);
  if (t === 'f') {
    fields.push(String(st.size), digest(e.abs, st));
    if (st.nlink > 1n) {
      const key = `${st.dev}:${st.ino}`;
      const first = links.get(key);
      if (first === undefined) links.set(key, e.rel);
      else fields.push(`link=${first}`);
    }
  } else if (t === 'l') fields.push(readlinkSync(e.abs, 'utf8'));
  else {
    if (t === 'c' || t === 'b') fields.push(String(st.rdev));
    const x = xattrDigest(e.abs);
    if (x !== '') fields.push(`xattrs=${x}`);
  }
  h.update(fields.join('\0') + '\n');
}

/** Every flag that shapes a COPY's result, as the first line of its digest (signature.ts too). */
export function digestHeader(req: Omit<CopyRequest, 'destRoot'>): string {
  return JSON.stringify({
    v: 1,
    srcKind: req.srcKind,
    dest: req.dest,
    chown: req.chown ?? null,
    chmod: req.chmod ?? null,
    parents: req.parents,
    excludes: req.excludes,
    link: req.link,
    add: req.add ?? null,
    sourceDateEpoch: req.sourceDateEpoch ?? null,
    sources: req.sources,
  });
}

/**
 * See the file comment; `digest` defaults to reading every selected file. `keep` receives the
 * selected inputs, so the copy itself need not walk the source again; `selected` hands in
 * inputs already selected for this request.
 */
export async function computeCopyDigest(
  req: Omit<CopyRequest, 'destRoot'>,
  digest: FileDigester = digestFile,
  signal?: AbortSignal,
  keep?: (inputs: Input[]) => void,
  selected?: Input[],
): Promise<CopyInputDigest> {
  const h = createHash('sha256');
  h.update(digestHeader(req) + '\n');
  let files = 0;
  let n = 0;
  const withOwner = req.srcKind === 'rootfs';
  const b = new Batched(h);
  const inputs = selected ?? (await selectInputs(req, signal));
  keep?.(inputs);
  for (const input of inputs) {
    if (input.kind === 'url') {
      // pinned by --checksum (verified on download), else whatever the server has now
      const key = req.add?.checksum ?? (await urlKey(input.url, signal));
      b.update(`url\0${input.url}\0${key}\n`);
      continue;
    }
    if (input.kind === 'git') {
      b.update(`git\0${input.pin.remote}\0${input.pin.commit}\0${input.pin.subdir}\n`);
      continue;
    }
    if (input.kind === 'inline') {
      files++;
      b.update(`inline\0${input.path}\0${createHash('sha256').update(input.data).digest('hex')}\n`);
      continue;
    }
    b.update(`match\0${input.match.source}\0${input.match.name}\0${input.match.rel}\n`);
    const links = new Map<string, string>();
    for (const e of input.entries) {
      if ((++n & 1023) === 0) signal?.throwIfAborted();
      if (e.kind === 'leaf') files++;
      hashEntry(b, e, withOwner, digest, links);
    }
  }
  b.flush();
  return { digest: `sha256:${h.digest('hex')}`, files };
}
