// Starts Debian's real `docker-registry` (CNCF distribution 2.8) on a free 127.0.0.1 port with a
// temp filesystem store, optionally behind htpasswd basic auth or token auth (a small in-test
// token server signing ES256 JWTs, trusted by the registry through a self-signed cert `kid`).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { which } from './prereq.js';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface User {
  readonly username: string;
  readonly password: string;
}

export interface RegistryOptions {
  /** htpasswd basic auth with these users. */
  readonly basicAuth?: readonly User[];
  /** Token auth with these users (anonymous gets a token without access). */
  readonly tokenAuth?: readonly User[];
}

export interface TestRegistry {
  /** `127.0.0.1:PORT` */
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  readonly tokenServer?: TokenServer;
  stop(): Promise<void>;
}

/** True when the registry binary is installed (for prereq()). */
export function haveRegistry(): boolean {
  return which(REGISTRY_BIN) !== undefined;
}

export async function startRegistry(opts: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-registry-'));
  const port = await freePort();
  let auth = '';
  let tokenServer: TokenServer | undefined;
  if (opts.basicAuth) {
    const file = join(dir, 'htpasswd');
    const lines = opts.basicAuth.map((u) => execFileSync('htpasswd', ['-nbB', '-C', '4', u.username, u.password], { encoding: 'utf8' }).trim());
    writeFileSync(file, lines.join('\n') + '\n');
    auth = `auth:\n  htpasswd:\n    realm: kiln-test\n    path: ${file}\n`;
  } else if (opts.tokenAuth) {
    tokenServer = await startTokenServer(dir, opts.tokenAuth);
    auth = `auth:\n  token:\n    realm: ${tokenServer.realm}\n    service: ${tokenServer.service}\n    issuer: ${tokenServer.issuer}\n    rootcertbundle: ${tokenServer.certFile}\n`;
  }
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${join(dir, 'data')}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:${port}
  secret: ${randomBytes(16).toString('hex')}
${auth}`,
  );
  const child: ChildProcess = spawn(REGISTRY_BIN, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString('utf8')).slice(-4000);
  });
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  const stop = async (): Promise<void> => {
    if (!exited) {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    await tokenServer?.close();
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`docker-registry exited at start: ${stderr}`);
    }
    const status = await new Promise<number>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/v2/' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', () => resolve(0));
    });
    if (status === 200 || status === 401) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`docker-registry did not answer on 127.0.0.1:${port}: ${stderr}`);
    }
    await sleep(50);
  }
  return { host: `127.0.0.1:${port}`, port, dir, ...(tokenServer ? { tokenServer } : {}), stop };
}

export interface TokenServer {
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  readonly certFile: string;
  /** Every token request received: scopes asked for and the account that authenticated (if any). */
  readonly requests: { scopes: string[]; account?: string; rejected: boolean; method: string }[];
  /** A user's identity (refresh) token is `refresh-<username>`, accepted by POST /token. */
  /** The next `expireNext` tokens are issued already expired (the registry then answers 401). */
  readonly control: { expireNext: number };
  close(): Promise<void>;
}

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString('base64url');
}

/** libtrust's key ID: base32 of the first 240 bits of sha256(DER SPKI), in groups of four. */
function libtrustKeyId(pub: KeyObject): string {
  const der = pub.export({ type: 'spki', format: 'der' });
  const bytes = createHash('sha256').update(der).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let s = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      s += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) s += alphabet[(value << (5 - bits)) & 31];
  return s.match(/.{1,4}/g)!.join(':');
}

async function startTokenServer(dir: string, users: readonly User[]): Promise<TokenServer> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyFile = join(dir, 'token.key');
  const certFile = join(dir, 'token.crt');
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  execFileSync('openssl', ['req', '-x509', '-new', '-key', keyFile, '-subj', '/CN=kiln-test-token', '-days', '2', '-out', certFile], { stdio: 'ignore' });
  const kid = libtrustKeyId(publicKey);
  const service = 'kiln-test-registry';
  const issuer = 'kiln-test-issuer';
  const requests: TokenServer['requests'] = [];
  const control = { expireNext: 0 };
  const server = http.createServer((req, res) => {
    const body: Buffer[] = [];
    req.on('data', (c: Buffer) => body.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(body).toString('utf8')));
  });
  const handle = (req: http.IncomingMessage, res: http.ServerResponse, body: string): void => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/token') {
      res.writeHead(404).end();
      return;
    }
    let scopes = url.searchParams.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
    let account: string | undefined;
    const authz = req.headers.authorization;
    if (req.method === 'POST') {
      // OAuth2 refresh-token grant (what clients send with a saved identity token)
      const form = new URLSearchParams(body);
      scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
      const u = users.find((x) => form.get('grant_type') === 'refresh_token' && form.get('refresh_token') === `refresh-${x.username}`);
      if (!u) {
        requests.push({ scopes, rejected: true, method: 'POST' });
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_grant' }));
        return;
      }
      account = u.username;
    } else if (authz?.startsWith('Basic ')) {
      const dec = Buffer.from(authz.slice(6), 'base64').toString('utf8');
      const i = dec.indexOf(':');
      const u = users.find((x) => x.username === dec.slice(0, i) && x.password === dec.slice(i + 1));
      if (!u) {
        requests.push({ scopes, rejected: true, method: 'GET' });
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ details: 'incorrect username or password' }));
        return;
      }
      account = u.username;
    }
    requests.push({ scopes, ...(account ? { account } : {}), rejected: false, method: req.method ?? 'GET' });
    const access = account
      ? scopes.map((s) => {
          const [type, ...rest] = s.split(':');
          const actions = rest.pop()!.split(',');
          return { type, name: rest.join(':'), actions };
        })
      : [];
    let now = Math.floor(Date.now() / 1000);
    if (control.expireNext > 0) {
      control.expireNext--;
      now -= 3600;
    }
    const header = { typ: 'JWT', alg: 'ES256', kid };
    const claims = { iss: issuer, sub: account ?? '', aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
    const token = `${input}.${b64url(sig)}`;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
  };
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certFile,
    requests,
    control,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
