// Authorization for one registry: learns the challenge (Basic or Bearer) from a 401, fetches and
// caches bearer tokens per scope set, sends Basic credentials, and forgets a token the registry
// rejected. Follows docker/distribution's client: GET the realm with service+scope (and Basic auth
// when there are credentials); POST an OAuth2 refresh_token form when an identity token is saved.
import { KilnError } from '../../errors.js';
import { type HttpResponse, type Transport, headerAll, readBody, redactUrl } from '../transport.js';
import { type Challenge, mergeScopes, parseWwwAuthenticate } from './challenge.js';
import type { CredentialSource, Credentials } from './docker-config.js';

interface CachedToken {
  readonly token: string;
  readonly expiresAt: number;
}

/** Tokens shorter-lived than this are treated as living this long (distribution's minimum). */
const MIN_TOKEN_LIFETIME_S = 60;

export class AuthSession {
  private challenge: Challenge | undefined;
  private credentials: Credentials | undefined;
  private credentialsLoaded = false;
  private readonly tokens = new Map<string, CachedToken>();
  private readonly inflight = new Map<string, Promise<CachedToken>>();
  /** How many token requests were made (tests assert the cache works). */
  tokenRequests = 0;

  constructor(
    readonly domain: string,
    private readonly transport: Transport,
    private readonly source: CredentialSource | undefined,
    credentials?: Credentials,
  ) {
    if (credentials) {
      this.credentials = credentials;
      this.credentialsLoaded = true;
    }
  }

  /** The scheme this registry asked for, once known. */
  get scheme(): string | undefined {
    return this.challenge?.scheme;
  }

  private async creds(): Promise<Credentials | undefined> {
    if (!this.credentialsLoaded) {
      this.credentials = this.source ? await this.source(this.domain) : undefined;
      this.credentialsLoaded = true;
    }
    return this.credentials;
  }

  /**
   * Records the challenge of a 401 response. Returns the scope the registry asked for (Bearer),
   * or '' for Basic; undefined when the response carries no usable challenge.
   */
  learn(res: HttpResponse): string | undefined {
    const chs = parseWwwAuthenticate(headerAll(res, 'www-authenticate'));
    const ch = chs.find((c) => c.scheme === 'bearer') ?? chs.find((c) => c.scheme === 'basic');
    if (!ch) return undefined;
    this.challenge = ch;
    return ch.params['scope'] ?? '';
  }

  /** The Authorization header value for a request needing `scopes`, or undefined (anonymous, no challenge yet). */
  async authorization(scopes: readonly string[], signal?: AbortSignal): Promise<string | undefined> {
    const ch = this.challenge;
    if (!ch) return undefined;
    if (ch.scheme === 'basic') {
      const c = await this.creds();
      if (!c || (c.username === undefined && c.password === undefined)) return undefined;
      return 'Basic ' + Buffer.from(`${c.username ?? ''}:${c.password ?? ''}`, 'utf8').toString('base64');
    }
    if (ch.scheme !== 'bearer') return undefined;
    const merged = mergeScopes(scopes);
    const key = `${ch.params['realm'] ?? ''}|${ch.params['service'] ?? ''}|${merged.join(' ')}`;
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > Date.now()) return `Bearer ${cached.token}`;
    let p = this.inflight.get(key);
    if (!p) {
      p = this.fetchToken(ch, merged, signal).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    const t = await p;
    this.tokens.set(key, t);
    return `Bearer ${t.token}`;
  }

  /** Drops cached tokens for a scope set (after the registry rejected one). */
  invalidate(scopes: readonly string[]): void {
    const merged = mergeScopes(scopes).join(' ');
    for (const k of [...this.tokens.keys()]) if (k.endsWith(`|${merged}`)) this.tokens.delete(k);
  }

  private async fetchToken(ch: Challenge, scopes: readonly string[], signal?: AbortSignal): Promise<CachedToken> {
    const realm = ch.params['realm'];
    if (!realm) throw new KilnError('REGISTRY_AUTH', `${this.domain} asked for a bearer token but named no realm`);
    let realmUrl: URL;
    try {
      realmUrl = new URL(realm);
    } catch {
      throw new KilnError('REGISTRY_AUTH', `${this.domain} named an invalid token realm`);
    }
    const c = await this.creds();
    const service = ch.params['service'];
    this.tokenRequests++;
    let res: HttpResponse;
    if (c?.identityToken) {
      const form = new URLSearchParams();
      form.set('grant_type', 'refresh_token');
      form.set('refresh_token', c.identityToken);
      form.set('client_id', 'kiln');
      if (service) form.set('service', service);
      if (scopes.length) form.set('scope', scopes.join(' '));
      res = await this.send(realmUrl, 'POST', { 'content-type': 'application/x-www-form-urlencoded' }, Buffer.from(form.toString()), signal);
    } else {
      const u = new URL(realmUrl);
      if (service) u.searchParams.set('service', service);
      for (const s of scopes) u.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      if (c && (c.username !== undefined || c.password !== undefined)) {
        if (c.username) u.searchParams.set('account', c.username);
        headers['authorization'] = 'Basic ' + Buffer.from(`${c.username ?? ''}:${c.password ?? ''}`, 'utf8').toString('base64');
      }
      res = await this.send(u, 'GET', headers, undefined, signal);
    }
    const body = await readBody(res, 1024 * 1024);
    if (res.status === 401 || res.status === 403) {
      throw new KilnError('REGISTRY_AUTH', `authentication to ${this.domain} failed: the token server refused ${c ? 'the credentials' : 'anonymous access'} (${res.status}${serverMessage(body)})`, {
        hint: c ? `check the user name and password, then run: kiln login ${this.domain}` : `run: kiln login ${this.domain}`,
      });
    }
    if (res.status !== 200) {
      throw new KilnError('REGISTRY_AUTH', `token server ${redactUrl(realmUrl)} for ${this.domain} answered HTTP ${res.status}${serverMessage(body)}`);
    }
    let json: { token?: string; access_token?: string; expires_in?: number; issued_at?: string };
    try {
      json = JSON.parse(body.toString('utf8')) as typeof json;
    } catch {
      throw new KilnError('REGISTRY_AUTH', `token server ${redactUrl(realmUrl)} for ${this.domain} returned invalid JSON`);
    }
    const token = json.access_token || json.token;
    if (!token) throw new KilnError('REGISTRY_AUTH', `token server ${redactUrl(realmUrl)} for ${this.domain} returned no token`);
    const lifetime = Math.max(typeof json.expires_in === 'number' ? json.expires_in : MIN_TOKEN_LIFETIME_S, MIN_TOKEN_LIFETIME_S);
    const issued = json.issued_at ? Date.parse(json.issued_at) : NaN;
    const start = Number.isFinite(issued) && issued <= Date.now() ? issued : Date.now();
    // renew a little early so a token never expires in flight
    return { token, expiresAt: start + lifetime * 1000 - 5_000 };
  }

  private async send(url: URL, method: 'GET' | 'POST', headers: Record<string, string>, body: Buffer | undefined, signal?: AbortSignal): Promise<HttpResponse> {
    try {
      return await this.transport.request({ method, url, headers, body, signal });
    } catch (e) {
      if ((e as Error).name === 'AbortError') throw new KilnError('ABORTED', 'operation aborted', { cause: e });
      throw new KilnError('REGISTRY_UNREACHABLE', `cannot reach the token server ${redactUrl(url)} for ${this.domain}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
}

function serverMessage(body: Buffer): string {
  try {
    const j = JSON.parse(body.toString('utf8')) as { errors?: { message?: string }[]; details?: string; error?: string };
    const m = j.errors?.[0]?.message ?? j.details ?? j.error;
    return m ? `: ${String(m).slice(0, 200)}` : '';
  } catch {
    return '';
  }
}
