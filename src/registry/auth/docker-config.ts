// Credentials in Docker's own format: `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`
// (`auths` with base64 `auth` / `identitytoken`, `credsStore`, `credHelpers`), and credential
// helpers (`docker-credential-<name> get|store|erase`, server URL or JSON on stdin).
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { KilnError } from '../../errors.js';
import { replaceFile } from '../../support/index.js';

export interface Credentials {
  readonly username?: string;
  readonly password?: string;
  /** OAuth2 refresh token (Docker's `identitytoken`), exchanged at the token endpoint. */
  readonly identityToken?: string;
}

/** Looks credentials up for a registry domain (`docker.io`, `localhost:5000`). */
export type CredentialSource = (domain: string) => Promise<Credentials | undefined>;

/** The key Docker uses in `auths` for Docker Hub. */
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';

export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env['DOCKER_CONFIG'] || join(env['HOME'] || homedir(), '.docker');
  return join(dir, 'config.json');
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  [k: string]: unknown;
}

interface DockerConfigFile {
  auths?: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [k: string]: unknown;
}

function readConfig(path: string): DockerConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new KilnError('IO', `cannot read ${path}: ${(e as Error).message}`);
  }
  if (text.trim() === '') return {};
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
    return v as DockerConfigFile;
  } catch (e) {
    throw new KilnError('IO', `${path} is not valid JSON: ${(e as Error).message}`, { hint: 'fix or remove the file' });
  }
}

function writeConfig(path: string, cfg: DockerConfigFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  replaceFile(path, JSON.stringify(cfg, null, '\t') + '\n', { mode: 0o600 });
}

/** The `auths` key for a domain: Docker Hub's legacy URL, else the host[:port] itself. */
export function authKey(domain: string): string {
  return domain === 'docker.io' || domain === 'index.docker.io' || domain === 'registry-1.docker.io' ? DOCKER_HUB_AUTH_KEY : domain;
}

/** Docker's ConvertToHostname: strips scheme and path from an `auths` key. */
function keyHost(key: string): string {
  let s = key.replace(/^https?:\/\//, '');
  const i = s.indexOf('/');
  if (i !== -1) s = s.slice(0, i);
  return s;
}

function findAuthEntry(cfg: DockerConfigFile, domain: string): AuthEntry | undefined {
  const auths = cfg.auths ?? {};
  const key = authKey(domain);
  if (auths[key]) return auths[key];
  const host = keyHost(key);
  for (const [k, v] of Object.entries(auths)) if (keyHost(k) === host) return v;
  return undefined;
}

function decodeEntry(e: AuthEntry, domain: string): Credentials | undefined {
  let username = e.username;
  let password = e.password;
  if (typeof e.auth === 'string' && e.auth !== '') {
    const dec = Buffer.from(e.auth, 'base64').toString('utf8');
    const i = dec.indexOf(':');
    if (i === -1) throw new KilnError('REGISTRY_AUTH', `the saved credentials for ${domain} are malformed`, { hint: `run: kiln login ${domain}` });
    username = dec.slice(0, i);
    password = dec.slice(i + 1);
  }
  const identityToken = typeof e.identitytoken === 'string' && e.identitytoken !== '' ? e.identitytoken : undefined;
  if (!username && !password && !identityToken) return undefined;
  return { ...(username ? { username } : {}), ...(password ? { password } : {}), ...(identityToken ? { identityToken } : {}) };
}

function helperFor(cfg: DockerConfigFile, domain: string): string | undefined {
  const key = authKey(domain);
  const helpers = cfg.credHelpers ?? {};
  return helpers[key] ?? helpers[keyHost(key)] ?? helpers[domain] ?? (cfg.credsStore || undefined);
}

/** Runs `docker-credential-<helper> <action>` with input on stdin; resolves with stdout. */
export function runCredentialHelper(helper: string, action: 'get' | 'store' | 'erase', input: string): Promise<string> {
  const cmd = `docker-credential-${helper}`;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [action], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) =>
      reject(new KilnError('REGISTRY_AUTH', `credential helper ${cmd} could not be run: ${(e as NodeJS.ErrnoException).code ?? e.message}`, {
        hint: `install ${cmd} or remove it from credsStore/credHelpers in ${dockerConfigPath()}`,
      })),
    );
    child.on('close', (code) => {
      const stdout = Buffer.concat(out).toString('utf8');
      if (code === 0) return resolve(stdout);
      // Helpers report "credentials not found in native keychain" on stdout.
      const msg = (stdout.trim() || Buffer.concat(err).toString('utf8').trim()).split('\n')[0] ?? '';
      const e = new KilnError('REGISTRY_AUTH', `credential helper ${cmd} ${action} failed: ${msg}`);
      (e as KilnError & { notFound?: boolean }).notFound = /credentials not found/i.test(msg);
      reject(e);
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

export interface DockerConfigOptions {
  /** Path of config.json (default: dockerConfigPath()). */
  readonly path?: string;
  /** Replaces spawning `docker-credential-*` (tests). */
  readonly runHelper?: typeof runCredentialHelper;
}

/** Credentials for a registry from Docker's config (helpers first, then `auths`), or undefined. */
export async function loadCredentials(domain: string, opts: DockerConfigOptions = {}): Promise<Credentials | undefined> {
  const path = opts.path ?? dockerConfigPath();
  const cfg = readConfig(path);
  const helper = helperFor(cfg, domain);
  if (helper) {
    const run = opts.runHelper ?? runCredentialHelper;
    try {
      const out = JSON.parse(await run(helper, 'get', authKey(domain))) as { Username?: string; Secret?: string };
      if (!out.Secret) return undefined;
      if (out.Username === '<token>') return { identityToken: out.Secret };
      return { ...(out.Username ? { username: out.Username } : {}), password: out.Secret };
    } catch (e) {
      if ((e as { notFound?: boolean }).notFound) return undefined;
      if (e instanceof SyntaxError) throw new KilnError('REGISTRY_AUTH', `credential helper docker-credential-${helper} returned invalid JSON`);
      throw e;
    }
  }
  const entry = findAuthEntry(cfg, domain);
  return entry ? decodeEntry(entry, domain) : undefined;
}

/** A CredentialSource over Docker's config file. */
export function dockerConfigCredentials(opts: DockerConfigOptions = {}): CredentialSource {
  return (domain) => loadCredentials(domain, opts);
}

/** Saves credentials the way `docker login` does (helper `store`, else base64 `auth`, mode 0600). */
export async function saveCredentials(domain: string, creds: Credentials, opts: DockerConfigOptions = {}): Promise<string> {
  const path = opts.path ?? dockerConfigPath();
  const cfg = readConfig(path);
  const helper = helperFor(cfg, domain);
  const key = authKey(domain);
  if (helper) {
    const run = opts.runHelper ?? runCredentialHelper;
    const secret = creds.identityToken ?? creds.password ?? '';
    const username = creds.identityToken ? '<token>' : (creds.username ?? '');
    await run(helper, 'store', JSON.stringify({ ServerURL: key, Username: username, Secret: secret }));
    // docker keeps an empty entry in auths so `docker logout` and listings know about it
    cfg.auths = { ...(cfg.auths ?? {}), [key]: {} };
  } else {
    const entry: AuthEntry = {};
    if (creds.username !== undefined || creds.password !== undefined) {
      entry.auth = Buffer.from(`${creds.username ?? ''}:${creds.password ?? ''}`, 'utf8').toString('base64');
    }
    if (creds.identityToken) entry.identitytoken = creds.identityToken;
    cfg.auths = { ...(cfg.auths ?? {}), [key]: entry };
  }
  writeConfig(path, cfg);
  return path;
}

/** Removes saved credentials (`docker logout`); resolves false when there were none. */
export async function eraseCredentials(domain: string, opts: DockerConfigOptions = {}): Promise<boolean> {
  const path = opts.path ?? dockerConfigPath();
  const cfg = readConfig(path);
  const key = authKey(domain);
  const helper = helperFor(cfg, domain);
  let found = false;
  if (helper) {
    const run = opts.runHelper ?? runCredentialHelper;
    try {
      await run(helper, 'erase', key);
      found = true;
    } catch (e) {
      if (!(e as { notFound?: boolean }).notFound) throw e;
    }
  }
  const auths = cfg.auths ?? {};
  for (const k of Object.keys(auths)) {
    if (k === key || keyHost(k) === keyHost(key)) {
      delete auths[k];
      found = true;
    }
  }
  if (found) writeConfig(path, { ...cfg, auths });
  return found;
}
