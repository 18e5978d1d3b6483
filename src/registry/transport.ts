// HTTP(S) on node:http/node:https, for registries and ADD's URLs: plain HTTP for loopback and
// --insecure-registry hosts, HTTPS with the system roots plus /etc/docker/certs.d/HOST/*.crt (and
// client certs) for everything else, keep-alive agents per host, redirects for GET/HEAD. No auth
// and no retries here.
import type { Agent as HttpAgent, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Agent as HttpsAgent, AgentOptions as HttpsAgentOptions } from 'node:https';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { KilnError } from '../errors.js';

// node:http, node:https and node:tls are loaded on the first request, not with kiln: they are
// ~5 ms of Node's own start-up work that a build from local images never needs.
const nodeRequire = createRequire(import.meta.url);
let httpLib: typeof import('node:http') | undefined;
let httpsLib: typeof import('node:https') | undefined;
const http = (): typeof import('node:http') => (httpLib ??= nodeRequire('node:http') as typeof import('node:http'));
const https = (): typeof import('node:https') => (httpsLib ??= nodeRequire('node:https') as typeof import('node:https'));

export const DEFAULT_CERTS_DIR = '/etc/docker/certs.d';

const caFiles = new Map<string, string | undefined>();
/** A CA file named by an environment variable, read once; unreadable: skipped with a warning, as Node does. */
function caFile(variable: string): string | undefined {
  const file = process.env[variable];
  if (file === undefined || file === '') return undefined;
  if (!caFiles.has(file)) {
    let pem: string | undefined;
    try {
      pem = readFileSync(file, 'utf8');
    } catch (e) {
      process.stderr.write(`kiln: warning: ignoring extra certs from ${file} (${variable}): ${(e as Error).message}\n`);
    }
    caFiles.set(file, pem);
  }
  return caFiles.get(file);
}

export interface TransportOptions {
  /** Hosts (`host`, `host:port`) reached over plain HTTP, like dockerd's --insecure-registry. */
  readonly insecureRegistries?: readonly string[];
  /** Where per-registry CAs and client certs live (`<dir>/<host[:port]>/ca.crt`); '' for none. */
  readonly certsDir?: string;
  /** Socket idle timeout in ms (default 60 s). */
  readonly timeoutMs?: number;
  readonly userAgent?: string;
}

export type RequestBody = Buffer | Readable | undefined;

export interface HttpRequest {
  readonly method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly url: URL;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: RequestBody;
  readonly signal?: AbortSignal | undefined;
  /** Follow redirects for GET/HEAD (default true). */
  readonly followRedirects?: boolean;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The URL that answered (after redirects). */
  readonly url: URL;
  readonly body: IncomingMessage;
}

/** True for a failed TLS handshake or certificate check (Node's error codes and messages). */
export function isTlsError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY/i.test(String(code ?? (e as Error | undefined)?.message ?? ''));
}

/** One header value as a string (first value if repeated). */
export function header(res: HttpResponse, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** All values of a header (WWW-Authenticate may repeat). */
export function headerAll(res: HttpResponse, name: string): string[] {
  const v = res.headers[name.toLowerCase()];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

export async function readBody(res: HttpResponse, limit = 32 * 1024 * 1024): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of res.body as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) {
      res.body.destroy();
      throw new KilnError('REGISTRY_HTTP', `response from ${redactUrl(res.url)} is larger than ${limit} bytes`);
    }
    parts.push(c);
  }
  return Buffer.concat(parts);
}

/** Consumes and discards a body so the connection can be reused. */
export function discard(res: HttpResponse): void {
  res.body.resume();
}

/** A URL without query string or credentials: upload locations and token realms carry state there. */
export function redactUrl(u: URL | string): string {
  const url = typeof u === 'string' ? new URL(u) : u;
  return `${url.protocol}//${url.host}${url.pathname}${url.search ? '?…' : ''}`;
}

function hostnameOf(hostPort: string): string {
  if (hostPort.startsWith('[')) return hostPort.slice(1, hostPort.indexOf(']'));
  const i = hostPort.lastIndexOf(':');
  return i === -1 ? hostPort : hostPort.slice(0, i);
}

/** True for hosts reached over plain HTTP by default: localhost, 127.0.0.0/8, ::1. */
export function isLoopbackHost(hostPort: string): boolean {
  const h = hostnameOf(hostPort).toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

export class Transport {
  private readonly insecure: Set<string>;
  private readonly certsDir: string;
  private readonly timeoutMs: number;
  readonly userAgent: string;
  private httpAgent: HttpAgent | undefined;
  private readonly httpsAgents = new Map<string, HttpsAgent>();

  constructor(opts: TransportOptions = {}) {
    this.insecure = new Set((opts.insecureRegistries ?? []).map((h) => h.toLowerCase()));
    this.certsDir = opts.certsDir ?? DEFAULT_CERTS_DIR;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.userAgent = opts.userAgent ?? 'kiln';
  }

  /** `http` or `https` for a registry host (`host[:port]`). */
  scheme(hostPort: string): 'http' | 'https' {
    const h = hostPort.toLowerCase();
    if (isLoopbackHost(h) || this.insecure.has(h) || this.insecure.has(hostnameOf(h))) return 'http';
    return 'https';
  }

  baseUrl(hostPort: string): URL {
    return new URL(`${this.scheme(hostPort)}://${hostPort}`);
  }

  private agentFor(url: URL): HttpAgent {
    if (url.protocol === 'http:') return (this.httpAgent ??= new (http().Agent)({ keepAlive: true, maxSockets: 16 }));
    const key = url.host;
    let a = this.httpsAgents.get(key);
    if (!a) {
      a = new (https().Agent)({ keepAlive: true, maxSockets: 16, ...this.tlsFor(url.host) });
      this.httpsAgents.set(key, a);
    }
    return a;
  }

  /**
   * The TLS context of a host: CAs (*.crt) and a client certificate (*.cert + *.key) from
   * certsDir/host, as dockerd reads them, and the extra CAs of the environment. One context per
   * agent: given as `ca`, Node would parse the certificates again for every connection.
   */
  private tlsFor(hostPort: string): HttpsAgentOptions {
    let names: string[] = [];
    const dir = join(this.certsDir, hostPort);
    if (this.certsDir !== '') {
      try {
        names = readdirSync(dir).sort();
      } catch {
        names = [];
      }
    }
    const ca: string[] = [];
    const client: { cert?: Buffer; key?: Buffer } = {};
    for (const n of names) {
      if (n.endsWith('.crt')) ca.push(readFileSync(join(dir, n), 'utf8'));
      else if (n.endsWith('.cert')) {
        const keyName = n.slice(0, -'.cert'.length) + '.key';
        if (!names.includes(keyName)) {
          throw new KilnError('IO', `client certificate ${join(dir, n)} has no matching ${keyName}`);
        }
        client.cert = readFileSync(join(dir, n));
        client.key = readFileSync(join(dir, keyName));
      }
    }
    // bin/kiln moves NODE_EXTRA_CA_CERTS to KILN_EXTRA_CA_CERTS, so that Node does not parse it at
    // every start-up: it is read here, at the first TLS connection, and trusted as Node would have
    const moved = process.env['KILN_EXTRA_CA_CERTS'];
    const extra = moved !== process.env['NODE_EXTRA_CA_CERTS'] ? caFile('KILN_EXTRA_CA_CERTS') : undefined;
    if (extra !== undefined) ca.push(extra);
    if (ca.length === 0 && client.cert === undefined) return {};
    // explicit CAs replace Node's roots and NODE_EXTRA_CA_CERTS's: keep them
    const inherited = ca.length > 0 ? caFile('NODE_EXTRA_CA_CERTS') : undefined;
    if (inherited !== undefined) ca.push(inherited);
    const tls = nodeRequire('node:tls') as typeof import('node:tls');
    return { secureContext: tls.createSecureContext({ ...client, ...(ca.length > 0 ? { ca: [...tls.rootCertificates, ...ca] } : {}) }) };
  }

  /** Sends one request and resolves with the response head; the body is a stream to consume. */
  async request(req: HttpRequest): Promise<HttpResponse> {
    let url = req.url;
    let headers: Record<string, string> = { 'user-agent': this.userAgent, ...req.headers };
    const follow = req.followRedirects ?? (req.method === 'GET' || req.method === 'HEAD');
    for (let hop = 0; ; hop++) {
      const res = await this.once(req.method, url, headers, req.body, req.signal);
      const loc = res.headers.location;
      if (!follow || ![301, 302, 303, 307, 308].includes(res.statusCode ?? 0) || loc === undefined) {
        return { status: res.statusCode ?? 0, headers: res.headers, url, body: res };
      }
      res.resume();
      if (hop >= 10) throw new KilnError('REGISTRY_HTTP', `too many redirects from ${redactUrl(req.url)}`);
      const next = new URL(loc, url);
      if (next.host !== url.host) {
        // Never send registry credentials to another host (blob storage redirects).
        const { authorization: _drop, ...rest } = headers;
        headers = rest;
      }
      url = next;
    }
  }

  private once(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body: RequestBody,
    signal: AbortSignal | undefined,
  ): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const mod = url.protocol === 'https:' ? https() : http();
      const h: Record<string, string> = { ...headers };
      if (Buffer.isBuffer(body)) h['content-length'] = String(body.length);
      else if (body === undefined && (method === 'POST' || method === 'PUT' || method === 'PATCH')) h['content-length'] = '0';
      const req = mod.request(url, { method, headers: h, agent: this.agentFor(url), timeout: this.timeoutMs, ...(signal ? { signal } : {}) });
      req.on('timeout', () => req.destroy(Object.assign(new Error(`timed out talking to ${url.host}`), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.on('response', resolve);
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else {
        body.on('error', (e) => req.destroy(e));
        body.pipe(req);
      }
    });
  }

  close(): void {
    this.httpAgent?.destroy();
    this.httpAgent = undefined;
    for (const a of this.httpsAgents.values()) a.destroy();
    this.httpsAgents.clear();
  }
}
