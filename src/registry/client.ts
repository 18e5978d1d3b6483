// A client for one registry (OCI distribution v2 API): every call goes through authorization
// (AuthSession) and retries with exponential backoff (5xx, 429 + Retry-After, connection resets),
// and non-success answers become KilnErrors that name the registry but never a credential.
import { setTimeout as sleep } from 'node:timers/promises';
import { Readable } from 'node:stream';
import { KilnError } from '../errors.js';
import { type Descriptor, type Digest, MediaType, digestAlgorithm, isDigest, sha256 } from '../image/index.js';
import { createHash } from 'node:crypto';
import { AuthSession } from './auth/session.js';
import { repositoryScope } from './auth/challenge.js';
import type { CredentialSource, Credentials } from './auth/docker-config.js';
import { type HttpResponse, Transport, type TransportOptions, discard, header, isTlsError, readBody, redactUrl } from './transport.js';

export interface RetryOptions {
  /** Attempts per request, first one included (default 5). */
  readonly attempts?: number;
  /** First backoff delay in ms, doubled each time (default 200). */
  readonly baseDelayMs?: number;
  /** Longest backoff or Retry-After honoured, in ms (default 10 000). */
  readonly maxDelayMs?: number;
}

export interface RegistryClientOptions extends TransportOptions {
  /** Where credentials come from (e.g. dockerConfigCredentials()); none means anonymous. */
  readonly credentials?: CredentialSource;
  readonly retry?: RetryOptions;
  /** Share connections between clients. */
  readonly transport?: Transport;
}

export interface CallRequest {
  readonly method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** `/v2/...` path with query, or an absolute URL (an upload Location). */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Buffers are re-sent on retry; a stream is sent once (the caller retries the whole operation). */
  readonly body?: Buffer | Readable;
  readonly scopes: readonly string[];
  readonly signal?: AbortSignal | undefined;
  /** Statuses the caller handles itself even if they are 5xx (default none). */
  readonly noRetry?: boolean;
}

const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const RETRY_ERRNO = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'UND_ERR_SOCKET']);

export function isRetryableNetworkError(e: unknown): boolean {
  if (!(e instanceof Error) || e.name === 'AbortError') return false;
  const code = (e as NodeJS.ErrnoException).code;
  return (code !== undefined && RETRY_ERRNO.has(code)) || /socket hang up|aborted|premature close/i.test(e.message);
}

/** Manifests are small; distribution caps them at 4 MiB. */
const MANIFEST_LIMIT = 4 * 1024 * 1024;

export const MANIFEST_ACCEPT = [MediaType.OciIndex, MediaType.OciManifest, MediaType.DockerManifestList, MediaType.DockerManifest].join(', ');

export interface FetchedManifest {
  readonly bytes: Buffer;
  readonly mediaType: string;
  readonly digest: Digest;
}

export class RegistryClient {
  readonly domain: string;
  readonly base: URL;
  readonly transport: Transport;
  readonly auth: AuthSession;
  readonly attempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly ownTransport: boolean;

  constructor(domain: string, opts: RegistryClientOptions = {}, credentials?: Credentials) {
    this.domain = domain;
    this.ownTransport = opts.transport === undefined;
    this.transport = opts.transport ?? new Transport(opts);
    // Docker Hub's API lives on registry-1.docker.io.
    const apiHost = domain === 'docker.io' ? 'registry-1.docker.io' : domain;
    this.base = this.transport.baseUrl(apiHost);
    this.auth = new AuthSession(domain, this.transport, opts.credentials, credentials);
    this.attempts = Math.max(1, opts.retry?.attempts ?? 5);
    this.baseDelayMs = opts.retry?.baseDelayMs ?? 200;
    this.maxDelayMs = opts.retry?.maxDelayMs ?? 10_000;
  }

  close(): void {
    if (this.ownTransport) this.transport.close();
  }

  url(pathOrUrl: string): URL {
    return new URL(pathOrUrl, this.base);
  }

  /** Backoff before attempt `n+1` (n ≥ 1): base·2^(n-1), capped, with ±20 % jitter. */
  backoff(n: number, retryAfter?: string): number {
    if (retryAfter !== undefined) {
      const secs = Number(retryAfter);
      const ms = Number.isFinite(secs) ? secs * 1000 : Date.parse(retryAfter) - Date.now();
      if (Number.isFinite(ms) && ms >= 0) return Math.min(ms, this.maxDelayMs);
    }
    const d = Math.min(this.baseDelayMs * 2 ** (n - 1), this.maxDelayMs);
    return Math.round(d * (0.8 + Math.random() * 0.4));
  }

  async wait(ms: number, signal?: AbortSignal): Promise<void> {
    try {
      await sleep(ms, undefined, signal ? { signal } : undefined);
    } catch (e) {
      throw new KilnError('ABORTED', 'operation aborted', { cause: e });
    }
  }

  unreachable(e: unknown, url: URL): KilnError {
    if (e instanceof KilnError) return e;
    if (e instanceof Error && e.name === 'AbortError') return new KilnError('ABORTED', 'operation aborted', { cause: e });
    const code = (e as NodeJS.ErrnoException).code;
    const what = code ?? (e as Error).message;
    return new KilnError('REGISTRY_UNREACHABLE', `cannot reach registry ${this.domain} (${redactUrl(url)}): ${what}`, {
      hint: isTlsError(e)
        ? `put the registry's CA in /etc/docker/certs.d/${this.domain}/ca.crt, or use --insecure-registry ${this.domain} for plain HTTP`
        : 'check the registry address and that it is running',
    });
  }

  /**
   * One API call with authorization and retries. Resolves with any final response (the caller
   * checks the status), except 401/403, which become REGISTRY_AUTH errors.
   */
  async call(req: CallRequest): Promise<HttpResponse> {
    let scopes = req.scopes;
    let authRetried = false;
    const url = this.url(req.path);
    const replayable = req.body === undefined || Buffer.isBuffer(req.body);
    for (let attempt = 1; ; attempt++) {
      const authz = await this.auth.authorization(scopes, req.signal);
      const headers: Record<string, string> = { ...req.headers };
      if (authz) headers['authorization'] = authz;
      let res: HttpResponse;
      try {
        res = await this.transport.request({ method: req.method, url, headers, body: req.body, signal: req.signal });
      } catch (e) {
        if (replayable && !req.noRetry && attempt < this.attempts && isRetryableNetworkError(e)) {
          await this.wait(this.backoff(attempt), req.signal);
          continue;
        }
        throw this.unreachable(e, url);
      }
      if (res.status === 401 && replayable && !authRetried) {
        const asked = this.auth.learn(res);
        discard(res);
        if (asked === undefined) throw await this.authError(res, authz !== undefined);
        if (authz) this.auth.invalidate(scopes);
        if (asked) scopes = [...scopes, ...asked.split(' ')];
        authRetried = true;
        attempt--;
        continue;
      }
      if (res.status === 401 || res.status === 403) throw await this.authError(res, authz !== undefined);
      if (RETRY_STATUS.has(res.status) && replayable && !req.noRetry && attempt < this.attempts) {
        const ra = header(res, 'retry-after');
        discard(res);
        await this.wait(this.backoff(attempt, ra), req.signal);
        continue;
      }
      return res;
    }
  }

  private async authError(res: HttpResponse, sentAuth: boolean): Promise<KilnError> {
    const msg = await registryMessage(res);
    if (res.status === 403) {
      return new KilnError('REGISTRY_AUTH', `access to ${this.domain} denied${msg ? `: ${msg}` : ''}`, {
        hint: `check that your account may access this repository (kiln login ${this.domain})`,
      });
    }
    return new KilnError('REGISTRY_AUTH', sentAuth
      ? `authentication to ${this.domain} failed${msg ? `: ${msg}` : ''}`
      : `authentication required by ${this.domain}${msg ? `: ${msg}` : ''}`, {
      hint: `run: kiln login ${this.domain}`,
    });
  }

  /** A REGISTRY_HTTP error for an unexpected answer, with the registry's error code and message. */
  async httpError(res: HttpResponse, what: string): Promise<KilnError> {
    const msg = await registryMessage(res);
    return new KilnError('REGISTRY_HTTP', `${what}: ${this.domain} answered HTTP ${res.status}${msg ? ` (${msg})` : ''}`);
  }

  /** GET /v2/ without auth: the status and the challenge (if any) the registry answers with. */
  async ping(signal?: AbortSignal): Promise<HttpResponse> {
    const url = this.url('/v2/');
    try {
      const res = await this.transport.request({ method: 'GET', url, signal });
      if (res.status === 401) this.auth.learn(res);
      return res;
    } catch (e) {
      throw this.unreachable(e, url);
    }
  }

  /** GET a manifest or index by tag or digest, verifying its digest. 404 → IMAGE_NOT_FOUND. */
  async getManifest(path: string, reference: string, opts: { signal?: AbortSignal | undefined; refName?: string } = {}): Promise<FetchedManifest> {
    const name = opts.refName ?? `${this.domain}/${path}:${reference}`;
    let res: HttpResponse;
    try {
      res = await this.call({
        method: 'GET',
        path: `/v2/${path}/manifests/${reference}`,
        headers: { accept: MANIFEST_ACCEPT },
        scopes: [repositoryScope(path, ['pull'])],
        signal: opts.signal,
      });
    } catch (e) {
      // Registries answer 401/403 for repositories that do not exist as for private ones (Docker Hub).
      if (e instanceof KilnError && e.code === 'REGISTRY_AUTH' && !/token server|credential helper/.test(e.message)) {
        throw new KilnError('REGISTRY_AUTH', `pull access denied for ${name}: ${e.message}`, {
          cause: e,
          hint: `the repository may not exist, or it needs: kiln login ${this.domain}`,
        });
      }
      throw e;
    }
    if (res.status === 404) {
      discard(res);
      throw new KilnError('IMAGE_NOT_FOUND', `image ${name} not found in registry ${this.domain}`, {
        hint: 'check the name and tag (kiln pull uses :latest when no tag is given)',
      });
    }
    if (res.status !== 200) throw await this.httpError(res, `fetching manifest of ${name}`);
    const bytes = await readBody(res, MANIFEST_LIMIT);
    const mediaType = (header(res, 'content-type') ?? '').split(';')[0]!.trim();
    let json: { mediaType?: string } = {};
    try {
      json = JSON.parse(bytes.toString('utf8')) as { mediaType?: string };
    } catch {
      throw new KilnError('IMAGE_INVALID', `the manifest of ${name} is not valid JSON`);
    }
    const mt = json.mediaType ?? mediaType;
    const want = isDigest(reference) ? reference : undefined;
    const alg = want ? digestAlgorithm(want) : 'sha256';
    const actual = `${alg}:${createHash(alg).update(bytes).digest('hex')}` as Digest;
    if (want && actual !== want) {
      throw new KilnError('DIGEST_MISMATCH', `manifest of ${name} has digest ${actual}, expected ${want}`);
    }
    const claimed = header(res, 'docker-content-digest');
    if (!want && claimed && isDigest(claimed) && digestAlgorithm(claimed) === 'sha256' && claimed !== actual) {
      throw new KilnError('DIGEST_MISMATCH', `manifest of ${name} has digest ${actual}, but ${this.domain} says ${claimed}`);
    }
    return { bytes, mediaType: mt, digest: actual };
  }

  /** HEAD a manifest: its descriptor, or undefined when absent. */
  async headManifest(path: string, reference: string, signal?: AbortSignal): Promise<Descriptor | undefined> {
    const res = await this.call({
      method: 'HEAD',
      path: `/v2/${path}/manifests/${reference}`,
      headers: { accept: MANIFEST_ACCEPT },
      scopes: [repositoryScope(path, ['pull'])],
      signal,
    });
    discard(res);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw await this.httpError(res, `checking manifest ${path}:${reference}`);
    const d = header(res, 'docker-content-digest');
    if (!d || !isDigest(d)) return undefined;
    return { mediaType: (header(res, 'content-type') ?? '').split(';')[0]!.trim(), digest: d, size: Number(header(res, 'content-length') ?? 0) };
  }

  /** PUT a manifest or index under a tag or digest; returns its digest (checked against the registry's). */
  async putManifest(path: string, reference: string, mediaType: string, bytes: Buffer, signal?: AbortSignal): Promise<Digest> {
    const res = await this.call({
      method: 'PUT',
      path: `/v2/${path}/manifests/${reference}`,
      headers: { 'content-type': mediaType },
      body: bytes,
      scopes: [repositoryScope(path, ['pull', 'push'])],
      signal,
    });
    if (res.status !== 201 && res.status !== 200 && res.status !== 202) {
      throw await this.httpError(res, `pushing manifest ${path}:${reference}`);
    }
    discard(res);
    const digest = sha256(bytes);
    const claimed = header(res, 'docker-content-digest');
    if (claimed && isDigest(claimed) && digestAlgorithm(claimed) === 'sha256' && claimed !== digest) {
      throw new KilnError('DIGEST_MISMATCH', `${this.domain} stored manifest ${path}:${reference} as ${claimed}, expected ${digest}`);
    }
    return digest;
  }

  /** HEAD a blob: true when the repository has it. */
  async hasBlob(path: string, digest: Digest, signal?: AbortSignal): Promise<boolean> {
    const res = await this.call({ method: 'HEAD', path: `/v2/${path}/blobs/${digest}`, scopes: [repositoryScope(path, ['pull'])], signal });
    discard(res);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw await this.httpError(res, `checking blob ${digest} in ${path}`);
  }
}

/** The first error of a registry's JSON error body (`{"errors":[{"code","message"}]}`), if any. */
export async function registryMessage(res: HttpResponse): Promise<string> {
  let body: Buffer;
  try {
    body = await readBody(res, 64 * 1024);
  } catch {
    return '';
  }
  try {
    const j = JSON.parse(body.toString('utf8')) as { errors?: { code?: string; message?: string }[] };
    const e = j.errors?.[0];
    if (e) return [e.code, e.message].filter(Boolean).join(': ').slice(0, 300);
  } catch {
    /* not JSON */
  }
  return '';
}
