// `kiln login` / `kiln logout`: check credentials against the registry, then save or erase them
// in Docker's config file (or credential helper), exactly where `docker login` would.
import { KilnError } from '../errors.js';
import { type Credentials, type DockerConfigOptions, eraseCredentials, saveCredentials } from './auth/docker-config.js';
import { RegistryClient, type RegistryClientOptions } from './client.js';
import { discard } from './transport.js';

/** Resolves when `creds` are accepted by `domain` (Basic or a token for no scope); else REGISTRY_AUTH. */
export async function verifyCredentials(domain: string, creds: Credentials, opts: RegistryClientOptions = {}, signal?: AbortSignal): Promise<void> {
  const { credentials: _ignored, ...rest } = opts;
  const client = new RegistryClient(domain, rest, creds);
  try {
    const ping = await client.ping(signal);
    discard(ping);
    if (ping.status === 200) return; // the registry needs no authentication; docker accepts that too
    if (ping.status !== 401) throw await client.httpError(ping, `logging in to ${domain}`);
    const res = await client.call({ method: 'GET', path: '/v2/', scopes: [], signal });
    discard(res);
    if (res.status !== 200) throw await client.httpError(res, `logging in to ${domain}`);
  } finally {
    client.close();
  }
}

export interface LoginOptions extends RegistryClientOptions {
  readonly config?: DockerConfigOptions;
  readonly signal?: AbortSignal;
}

/** Verifies and saves credentials; returns the config file written. */
export async function login(domain: string, creds: Credentials, opts: LoginOptions = {}): Promise<string> {
  if (!creds.username && !creds.identityToken) throw new KilnError('USAGE', 'a user name is required to log in');
  if (!creds.password && !creds.identityToken) throw new KilnError('USAGE', 'a password is required to log in (use --password-stdin)');
  await verifyCredentials(domain, creds, opts, opts.signal);
  return saveCredentials(domain, creds, opts.config ?? {});
}

/** Forgets saved credentials; false when there were none. */
export async function logout(domain: string, opts: { config?: DockerConfigOptions } = {}): Promise<boolean> {
  return eraseCredentials(domain, opts.config ?? {});
}
