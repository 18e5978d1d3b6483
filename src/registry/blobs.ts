// Blob transfer: downloads that verify the digest while streaming and resume with `Range` after a
// broken connection; uploads by cross-repo mount, monolithic PUT (streamed) or chunked PATCH.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { KilnError } from '../errors.js';
import { type Descriptor, type Digest, digestAlgorithm } from '../image/index.js';
import { repositoryScope } from './auth/challenge.js';
import { type RegistryClient, isRetryableNetworkError } from './client.js';
import { type HttpResponse, discard, header } from './transport.js';

export interface TransferProgress {
  readonly digest: Digest;
  readonly done: number;
  readonly total: number;
}

export interface DownloadOptions {
  readonly signal?: AbortSignal | undefined;
  readonly onBytes?: (done: number, total: number) => void;
  /**
   * Hash the bytes and fail with DIGEST_MISMATCH (default true). Turn off only when the consumer
   * verifies the digest itself (the Store does), to save a second SHA-256 pass. Sizes are
   * always checked.
   */
  readonly verify?: boolean;
}

/**
 * A stream of a blob's bytes. It errors (DIGEST_MISMATCH) instead of ending when the bytes do not
 * hash to the descriptor's digest or exceed its size, so a consumer that commits on `end` never
 * keeps bad content. Broken connections are resumed from the byte reached (`Range: bytes=N-`).
 */
export function downloadBlob(client: RegistryClient, path: string, desc: Pick<Descriptor, 'digest' | 'size'>, opts: DownloadOptions = {}): Readable {
  async function* bytes(): AsyncGenerator<Buffer> {
    const { digest, size } = desc;
    const hash = opts.verify === false ? undefined : createHash(digestAlgorithm(digest));
    let offset = 0;
    let failures = 0;
    for (;;) {
      const headers: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {};
      const res = await client.call({ method: 'GET', path: `/v2/${path}/blobs/${digest}`, headers, scopes: [repositoryScope(path, ['pull'])], signal: opts.signal });
      if (res.status === 404) {
        discard(res);
        throw new KilnError('IMAGE_INVALID', `blob ${digest} of ${client.domain}/${path} is missing from the registry`);
      }
      if (res.status !== 200 && res.status !== 206) throw await client.httpError(res, `downloading blob ${digest}`);
      let skip = 0;
      if (offset > 0) skip = res.status === 206 ? offset - rangeStart(res) : offset;
      if (skip < 0) {
        discard(res);
        throw new KilnError('REGISTRY_HTTP', `${client.domain} answered a range request for ${digest} with the wrong range`);
      }
      try {
        for await (const raw of res.body as AsyncIterable<Buffer>) {
          let chunk = raw;
          if (skip > 0) {
            if (chunk.length <= skip) {
              skip -= chunk.length;
              continue;
            }
            chunk = chunk.subarray(skip);
            skip = 0;
          }
          if (offset + chunk.length > size) {
            res.body.destroy();
            throw new KilnError('DIGEST_MISMATCH', `blob ${digest} from ${client.domain}/${path} is larger than its ${size} bytes; not stored`);
          }
          offset += chunk.length;
          hash?.update(chunk);
          opts.onBytes?.(offset, size);
          yield chunk;
        }
        if (offset < size) throw Object.assign(new Error('premature close'), { code: 'ECONNRESET' });
      } catch (e) {
        if (e instanceof KilnError) throw e;
        if (opts.signal?.aborted) throw new KilnError('ABORTED', 'operation aborted', { cause: e });
        failures++;
        if (isRetryableNetworkError(e) && failures < client.attempts) {
          await client.wait(client.backoff(failures), opts.signal);
          continue;
        }
        throw client.unreachable(e, client.url(`/v2/${path}/blobs/${digest}`));
      }
      const actual = hash ? `${digestAlgorithm(digest)}:${hash.digest('hex')}` : digest;
      if (actual !== digest) {
        throw new KilnError('DIGEST_MISMATCH', `blob from ${client.domain}/${path} has digest ${actual}, expected ${digest}; not stored`, {
          hint: 'the registry or something between it and kiln corrupted the data; retry, or check a proxy',
        });
      }
      return;
    }
  }
  return Readable.from(bytes(), { objectMode: false, highWaterMark: 1 << 20 });
}

function rangeStart(res: HttpResponse): number {
  const m = /^bytes (\d+)-/.exec(header(res, 'content-range') ?? '');
  return m ? Number(m[1]) : 0;
}

export interface UploadOptions {
  readonly signal?: AbortSignal | undefined;
  /** Other repositories of the same registry that may have the blob (cross-repo mount). */
  readonly mountFrom?: readonly string[];
  /** Blobs at least this large go up in PATCH chunks (default 256 MiB; Infinity = never). */
  readonly chunkThreshold?: number;
  /** PATCH chunk size (default 32 MiB). */
  readonly chunkSize?: number;
  readonly onBytes?: (done: number, total: number) => void;
}

export type UploadOutcome = 'exists' | 'mounted' | 'uploaded';

/** Uploads one blob unless the repository has it; `open` is called again for each retry. */
export async function uploadBlob(
  client: RegistryClient,
  path: string,
  desc: Pick<Descriptor, 'digest' | 'size'>,
  open: () => Promise<NodeJS.ReadableStream>,
  opts: UploadOptions = {},
): Promise<UploadOutcome> {
  if (await client.hasBlob(path, desc.digest, opts.signal)) return 'exists';
  for (let attempt = 1; ; attempt++) {
    try {
      return await uploadOnce(client, path, desc, open, opts);
    } catch (e) {
      const retry = !(e instanceof KilnError) || e.code === 'REGISTRY_UNREACHABLE' || (e.code === 'REGISTRY_HTTP' && /HTTP 5\d\d/.test(e.message));
      if (!retry || attempt >= client.attempts || opts.signal?.aborted) throw e;
      await client.wait(client.backoff(attempt), opts.signal);
    }
  }
}

async function uploadOnce(
  client: RegistryClient,
  path: string,
  desc: Pick<Descriptor, 'digest' | 'size'>,
  open: () => Promise<NodeJS.ReadableStream>,
  opts: UploadOptions,
): Promise<UploadOutcome> {
  const push = repositoryScope(path, ['pull', 'push']);
  let location: string | undefined;
  for (const from of opts.mountFrom ?? []) {
    if (from === path) continue;
    const res = await client.call({
      method: 'POST',
      path: `/v2/${path}/blobs/uploads/?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(from)}`,
      scopes: [push, repositoryScope(from, ['pull'])],
      signal: opts.signal,
    });
    discard(res);
    if (res.status === 201) {
      opts.onBytes?.(desc.size, desc.size);
      return 'mounted';
    }
    if (res.status === 202) {
      location = header(res, 'location');
      break;
    }
  }
  if (location === undefined) {
    const res = await client.call({ method: 'POST', path: `/v2/${path}/blobs/uploads/`, scopes: [push], signal: opts.signal });
    if (res.status !== 202) throw await client.httpError(res, `starting the upload of ${desc.digest} to ${path}`);
    discard(res);
    location = header(res, 'location');
  }
  if (!location) throw new KilnError('REGISTRY_HTTP', `${client.domain} started an upload to ${path} without a Location`);

  const threshold = opts.chunkThreshold ?? 256 * 1024 * 1024;
  const opened = await open();
  const src = opened instanceof Readable ? opened : new Readable().wrap(opened);
  let done = 0;
  if (desc.size >= threshold) {
    const chunkSize = Math.max(1, opts.chunkSize ?? 32 * 1024 * 1024);
    let pending: Buffer[] = [];
    let pendingLen = 0;
    const flush = async (): Promise<void> => {
      const whole = Buffer.concat(pending, pendingLen);
      pending = [];
      pendingLen = 0;
      const chunkStart = done;
      let body = whole;
      for (let attempt = 1; ; attempt++) {
        let failure: unknown;
        try {
          const res = await client.call({
            method: 'PATCH',
            path: location!,
            headers: { 'content-type': 'application/octet-stream', 'content-range': `${done}-${done + body.length - 1}` },
            body,
            scopes: [push],
            signal: opts.signal,
            noRetry: true,
          });
          if (res.status === 202) {
            discard(res);
            location = header(res, 'location') ?? location;
            done += body.length;
            opts.onBytes?.(done, desc.size);
            return;
          }
          failure = await client.httpError(res, `uploading a chunk of ${desc.digest} to ${path}`);
          if (!/HTTP (5\d\d|408|416|429)/.test((failure as Error).message)) throw failure;
        } catch (e) {
          if (e === failure || !(e instanceof KilnError) || e.code !== 'REGISTRY_UNREACHABLE') throw e;
          failure = e;
        }
        if (attempt >= client.attempts) throw failure;
        // Resume the chunk: ask the registry how much of the upload it holds, resend the rest.
        await client.wait(client.backoff(attempt), opts.signal);
        const held = await uploadStatus(client, location!, push, opts.signal);
        if (held === undefined || held.received < chunkStart || held.received > chunkStart + whole.length) throw failure;
        location = held.location ?? location;
        done = held.received;
        body = whole.subarray(held.received - chunkStart);
        if (body.length === 0) {
          opts.onBytes?.(done, desc.size);
          return;
        }
      }
    };
    try {
      for await (const c of src as AsyncIterable<Buffer>) {
        let chunk = c;
        while (chunk.length > 0) {
          const take = Math.min(chunk.length, chunkSize - pendingLen);
          pending.push(chunk.subarray(0, take));
          pendingLen += take;
          chunk = chunk.subarray(take);
          if (pendingLen === chunkSize) await flush();
        }
      }
      if (pendingLen > 0) await flush();
    } finally {
      src.destroy();
    }
    const res = await client.call({ method: 'PUT', path: withDigest(client, location, desc.digest), scopes: [push], signal: opts.signal, noRetry: true });
    if (res.status !== 201) throw await client.httpError(res, `completing the upload of ${desc.digest} to ${path}`);
    discard(res);
    return 'uploaded';
  }

  // Monolithic: one PUT with the streamed body.
  src.on('data', (c: Buffer) => {
    done += c.length;
    opts.onBytes?.(done, desc.size);
  });
  src.pause();
  try {
    const res = await client.call({
      method: 'PUT',
      path: withDigest(client, location, desc.digest),
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(desc.size) },
      body: src,
      scopes: [push],
      signal: opts.signal,
    });
    if (res.status !== 201) {
      const e = await client.httpError(res, `uploading ${desc.digest} to ${path}`);
      if (res.status === 400 && /DIGEST_INVALID|BLOB_UPLOAD_INVALID|SIZE_INVALID/.test(e.message)) {
        throw new KilnError('DIGEST_MISMATCH', `${client.domain} rejected blob ${desc.digest}: the local content does not match its digest`, { cause: e });
      }
      throw e;
    }
    discard(res);
    return 'uploaded';
  } finally {
    src.destroy(); // a failed request leaves the source open otherwise
  }
}

/** How many bytes an upload session holds (GET on its Location: 204 + `Range: 0-<last>`). */
async function uploadStatus(client: RegistryClient, location: string, scope: string, signal?: AbortSignal): Promise<{ received: number; location?: string } | undefined> {
  const res = await client.call({ method: 'GET', path: location, scopes: [scope], signal });
  discard(res);
  if (res.status !== 204) return undefined;
  const m = /^(?:bytes=)?0-(-?\d+)$/.exec(header(res, 'range') ?? '0--1');
  if (!m) return undefined;
  const loc = header(res, 'location');
  return { received: Number(m[1]) + 1, ...(loc ? { location: loc } : {}) };
}

function withDigest(client: RegistryClient, location: string, digest: Digest): string {
  const u = client.url(location);
  u.searchParams.set('digest', digest);
  return u.toString();
}
