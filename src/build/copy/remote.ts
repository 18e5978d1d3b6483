// ADD's remote sources. http(s) URLs are downloaded (BuildKit's llb.HTTP: file named from the
// URL path's base name or `__unnamed__`, mode 0600, mtime from Last-Modified or the epoch,
// `--checksum` verified). Git sources are git.ts's.
import { createHash } from 'node:crypto';
import { closeSync, lutimesSync, openSync, writeSync } from 'node:fs';
import { posix } from 'node:path';
import { createGunzip } from 'node:zlib';
import { KilnError, isKilnError } from '../../errors.js';
import { Transport, header, isTlsError, type HttpResponse } from '../../registry/index.js';

export function isHttpUrl(src: string): boolean {
  return src.startsWith('http://') || src.startsWith('https://');
}

/** BuildKit's file name for a URL source (llb.Filename from path.Base of the URL path, made safe). */
export function urlFileName(src: string): string {
  // BuildKit: path.Base of url.Parse's Path, which is already decoded (`dir%2Fa.txt` names `a.txt`)
  let path: string;
  try {
    path = new URL(src).pathname;
  } catch {
    return '__unnamed__';
  }
  try {
    path = decodeURIComponent(path);
  } catch {
    /* keep it as written */
  }
  const base = posix.basename(path);
  return base === '' || base === '.' || base === '..' ? '__unnamed__' : base;
}

/** Parses `--checksum` (`sha256:hex`, also sha384/sha512); throws INVALID_FLAG. */
export function parseChecksum(text: string): { algorithm: string; hex: string } {
  const m = /^(sha256|sha384|sha512):([0-9a-f]+)$/.exec(text);
  const len: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
  if (!m || m[2]!.length !== len[m[1]!]) {
    throw new KilnError('INVALID_FLAG', `invalid checksum ${JSON.stringify(text)}: expected sha256:<64 hex digits>`, {
      hint: 'compute it with `sha256sum FILE` and pass --checksum=sha256:<digest>',
    });
  }
  return { algorithm: m[1]!, hex: m[2]! };
}

// node:http/node:https through the registry transport (keep-alive agents, redirects, the extra CAs
// of bin/kiln), not fetch: Node 20's fetch trusts only what Node loaded at start-up
let web: Transport | undefined;

async function get(url: string, signal?: AbortSignal): Promise<HttpResponse> {
  let res: HttpResponse;
  try {
    web ??= new Transport({ certsDir: '' });
    // Go's client (BuildKit's http source) asks for gzip and decodes it: see body()
    res = await web.request({ method: 'GET', url: new URL(url), headers: { 'accept-encoding': 'gzip' }, signal });
  } catch (e) {
    if (signal?.aborted) throw new KilnError('ABORTED', 'operation aborted', { cause: e });
    throw new KilnError('IO', `failed to download ${url}: ${(e as Error).message}`, {
      cause: e,
      hint: isTlsError(e)
        ? "the server's certificate is not trusted here: if a private CA signed it, put that CA in a PEM file and point NODE_EXTRA_CA_CERTS at it"
        : 'check the URL and your network connection',
    });
  }
  // as BuildKit's http source: what Go's client hands back (a 3xx it does not follow, such as 300
  // or a redirect without Location) is a download like a 200
  if (res.status < 200 || res.status > 399) {
    res.body.resume();
    throw new KilnError('IO', `failed to download ${url}: invalid response status ${res.status} ${res.body.statusMessage ?? ''}`.trimEnd(), {
      hint: 'check that the URL is correct and publicly reachable',
    });
  }
  return res;
}

/**
 * The bytes of a download as BuildKit stores them: Go's transport asked for gzip, so a body sent
 * with `Content-Encoding: gzip` is decoded (even a .tar.gz sent that way lands as the tar).
 */
async function* body(url: string, res: HttpResponse): AsyncIterable<Buffer> {
  if (header(res, 'content-encoding') !== 'gzip') {
    yield* res.body as AsyncIterable<Buffer>;
    return;
  }
  const gunzip = createGunzip();
  const decoded = (res.body as NodeJS.ReadableStream).pipe(gunzip);
  res.body.on('error', (e: Error) => gunzip.destroy(e));
  try {
    for await (const chunk of decoded as AsyncIterable<Buffer>) yield chunk;
  } catch (e) {
    if (isKilnError(e)) throw e;
    throw new KilnError('IO', `failed to download ${url}: ${(e as Error).message}`, { cause: e, hint: 'the server sent Content-Encoding: gzip but the body is not valid gzip' });
  }
}

/**
 * What an unpinned URL source contributes to a cache key: its content digest and Last-Modified
 * (BuildKit also re-checks the URL on every build). Streams the body without storing it.
 */
export async function urlKey(url: string, signal?: AbortSignal): Promise<string> {
  const res = await get(url, signal);
  const hash = createHash('sha256');
  for await (const chunk of body(url, res)) hash.update(chunk);
  return `sha256:${hash.digest('hex')}\0${header(res, 'last-modified') ?? ''}`;
}

/**
 * Downloads `url` to `dir/<name>` (mode 0600) and returns the file path. `mtimeClamp` (seconds)
 * caps the Last-Modified time (SOURCE_DATE_EPOCH).
 */
export async function download(url: string, dir: string, checksum: string | undefined, mtimeClamp: number | undefined, signal?: AbortSignal): Promise<string> {
  const want = checksum === undefined ? undefined : parseChecksum(checksum);
  const res = await get(url, signal);
  const path = `${dir}/${urlFileName(url)}`;
  const hash = createHash(want?.algorithm ?? 'sha256');
  const fd = openSync(path, 'wx', 0o600);
  try {
    for await (const chunk of body(url, res)) {
      hash.update(chunk);
      let off = 0;
      while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
    }
  } finally {
    closeSync(fd);
  }
  const got = hash.digest('hex');
  if (want && got !== want.hex) {
    throw new KilnError('DIGEST_MISMATCH', `digest mismatch for ${url}: expected ${want.algorithm}:${want.hex}, got ${want.algorithm}:${got}`, {
      hint: 'the file at the URL changed (or the --checksum is wrong); verify the download and update --checksum',
    });
  }
  let mtime = 0;
  const lm = header(res, 'last-modified');
  if (lm) {
    const t = Date.parse(lm);
    if (!Number.isNaN(t)) mtime = Math.floor(t / 1000);
  }
  if (mtimeClamp !== undefined && mtime > mtimeClamp) mtime = mtimeClamp;
  lutimesSync(path, mtime, mtime);
  return path;
}
