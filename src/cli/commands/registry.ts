// Registry commands: `kiln pull`, `kiln push`, `kiln login`, `kiln logout` (docker-compatible
// flags and output). Content goes to / comes from the local store; credentials live in Docker's
// config.json ($DOCKER_CONFIG or ~/.docker).
import type { Command } from 'commander';
import { KilnError } from '../../errors.js';
import { digestHex, type Descriptor } from '../../image/index.js';
import {
  type Reference,
  RegistryClient,
  type RegistryClientOptions,
  dockerConfigCredentials,
  familiarString,
  formatReference,
  login,
  logout,
  parseNormalizedReference,
  parseReference,
  pull,
  push,
} from '../../registry/index.js';
import type { Store } from '../../store/index.js';
import { openStore } from './store.js';
import { lookupNames } from '../names.js';
import { unpackImages } from '../unpack.js';

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

/** --insecure-registry flags plus $KILN_INSECURE_REGISTRIES (comma-separated). */
export function clientOptions(flags: { insecureRegistry?: string[] }): RegistryClientOptions {
  const env = (process.env['KILN_INSECURE_REGISTRIES'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const certsDir = process.env['KILN_CERTS_DIR'];
  return {
    insecureRegistries: [...env, ...(flags.insecureRegistry ?? [])],
    credentials: dockerConfigCredentials(),
    ...(certsDir ? { certsDir } : {}),
  };
}

/** `docker login` accepts `https://host/v1/`, `host`, `docker.io`: reduce to a registry domain. */
export function serverDomain(server: string | undefined): string {
  if (!server) return 'docker.io';
  let s = server.trim().replace(/^https?:\/\//, '');
  const slash = s.indexOf('/');
  if (slash !== -1) s = s.slice(0, slash);
  if (s === 'index.docker.io' || s === 'registry-1.docker.io' || s === 'docker.io') return 'docker.io';
  if (!s) throw new KilnError('USAGE', `invalid registry address ${JSON.stringify(server)}`);
  // a host[:port] a URL can carry (`::::`, `a b`, port 99999 are none); scheme-like `ftp:` too
  let url: URL | undefined;
  try {
    url = new URL(`https://${s}/`);
  } catch {
    url = undefined;
  }
  if (url === undefined || /^[a-z][a-z0-9+.-]*:$/i.test(s) || url.username !== '' || url.password !== '') {
    throw new KilnError('USAGE', `invalid registry address ${JSON.stringify(server)}`, { hint: 'give the registry as HOST[:PORT], e.g. 127.0.0.1:5000 or registry.example.com' });
  }
  return s;
}

/** The stored descriptor for a local name: as typed, or its fully qualified form. */
export function resolveLocal(store: Store, name: string): { name: string; desc: Descriptor } {
  for (const n of lookupNames(name)) {
    const e = store.refs().find((r) => r.name === n);
    if (e) return { name: n, desc: e.descriptor };
  }
  throw new KilnError('IMAGE_NOT_FOUND', `No such image: ${name}`, { hint: 'list local images with `kiln images`' });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

const short = (d: string): string => digestHex(d as never).slice(0, 12);

/**
 * `kiln push`'s work: uploads the image `desc` (from the store) as `target`, saying what happens
 * docker-style through `out` (the last line: `TAG: digest: DIGEST size: N`). Also used by `kiln build --push`.
 */
export async function pushImage(
  store: Store,
  desc: Descriptor,
  target: string,
  opts: { insecureRegistry?: string[]; mountFrom?: string[]; out: (line: string) => void; signal?: AbortSignal },
): Promise<{ digest: string; size: number; ref: Reference }> {
  const ref = parseNormalizedReference(target);
  const client = new RegistryClient(ref.domain, clientOptions(opts));
  const out = opts.out;
  try {
    out(`The push refers to repository [${ref.domain}/${ref.path}]`);
    const mountFrom = (opts.mountFrom ?? []).map((m) => {
      const r = parseReference(m.includes('/') || m.includes('.') ? m : `${ref.domain}/${m}`);
      return r.domain === ref.domain ? r.path : m;
    });
    const res = await push(client, ref, desc, store, {
      mountFrom,
      ...(opts.signal ? { signal: opts.signal } : {}),
      onProgress: (p) => {
        if (p.status === 'exists') out(`${short(p.digest)}: Layer already exists`);
        else if (p.status === 'mounted') out(`${short(p.digest)}: Mounted from ${mountFrom.join(', ')}`);
        else if (p.status === 'uploaded') out(`${short(p.digest)}: Pushed`);
      },
    });
    out(`${ref.tag ?? 'latest'}: digest: ${res.digest} size: ${res.descriptor.size}`);
    return { digest: res.digest, size: res.descriptor.size, ref };
  } finally {
    client.close();
  }
}

export function registerRegistry(program: Command): void {
  program
    .command('pull')
    .description('Download an image from a registry into the local store')
    .argument('<name>', 'NAME[:TAG|@DIGEST]')
    .option('--platform <os/arch[/variant]>', 'platform to pull from a multi-platform image (default: this host)')
    .option('--insecure-registry <host>', 'use plain HTTP for this registry (repeatable)', collect, [])
    .option('-q, --quiet', 'only print the image reference')
    .action(async (name: string, opts: { platform?: string; insecureRegistry: string[]; quiet?: boolean }) => {
      const ref: Reference = parseNormalizedReference(name);
      const store = openStore();
      const client = new RegistryClient(ref.domain, clientOptions(opts));
      const out = (s: string): void => {
        if (!opts.quiet) process.stdout.write(s + '\n');
      };
      try {
        out(`${ref.tag ?? ref.digest}: Pulling from ${ref.path}`);
        let downloaded = 0;
        const res = await pull(client, ref, store, {
          ...(opts.platform ? { platform: opts.platform, requirePlatform: true } : {}),
          verifyLayers: false, // Store.ingest verifies every digest itself

          onProgress: (p) => {
            if (p.status === 'exists') {
              if (!p.mediaType.includes('config')) out(`${short(p.digest)}: Already exists`);
            }
            else if (p.status === 'done') {
              downloaded++;
              if (!p.mediaType.includes('config')) out(`${short(p.digest)}: Pull complete`);
            }
          },
        });
        const full = formatReference(ref);
        await store.tag({ name: full, descriptor: res.manifest });
        await unpackImages(store, store.root, [{ name: full, desc: res.manifest }]);
        out(`Digest: ${res.root.digest}`);
        out(downloaded > 0 ? `Status: Downloaded newer image for ${familiarString(ref)}` : `Status: Image is up to date for ${familiarString(ref)}`);
        process.stdout.write(`${full}\n`);
      } finally {
        client.close();
      }
    });

  program
    .command('push')
    .description('Upload a local image to a registry')
    .argument('<name>', 'local image NAME[:TAG]')
    .argument('[target]', 'destination NAME[:TAG] (default: the local name)')
    .option('--insecure-registry <host>', 'use plain HTTP for this registry (repeatable)', collect, [])
    .option('--mount-from <repository>', 'repository on the same registry to mount existing blobs from (repeatable)', collect, [])
    .option('-q, --quiet', 'only print the pushed digest')
    .action(async (name: string, target: string | undefined, opts: { insecureRegistry: string[]; mountFrom: string[]; quiet?: boolean }) => {
      const store = openStore();
      const local = resolveLocal(store, name);
      const res = await pushImage(store, local.desc, target ?? name, {
        ...opts,
        out: (s) => {
          if (!opts.quiet) process.stdout.write(s + '\n');
        },
      });
      if (opts.quiet) process.stdout.write(`${res.digest}\n`);
    });

  program
    .command('login')
    .description('Log in to a registry (checks the credentials, then saves them like docker login)')
    .argument('[server]', 'registry host (default: Docker Hub)')
    .option('-u, --username <username>', 'user name')
    .option('-p, --password <password>', 'password (prefer --password-stdin)')
    .option('--password-stdin', 'read the password from stdin')
    .option('--insecure-registry <host>', 'use plain HTTP for this registry (repeatable)', collect, [])
    .action(async (server: string | undefined, opts: { username?: string; password?: string; passwordStdin?: boolean; insecureRegistry: string[] }) => {
      const domain = serverDomain(server);
      let password = opts.password;
      if (opts.passwordStdin) {
        if (password !== undefined) throw new KilnError('USAGE', '--password and --password-stdin are mutually exclusive');
        if (!opts.username) throw new KilnError('USAGE', 'must provide --username with --password-stdin');
        password = await readStdin();
      } else if (password !== undefined) {
        process.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
      }
      if (!opts.username) throw new KilnError('USAGE', 'a user name is required: kiln login -u USER --password-stdin ' + (server ?? ''));
      if (!password) throw new KilnError('USAGE', 'a password is required: pipe it into --password-stdin');
      const { credentials: _none, ...rest } = clientOptions(opts);
      await login(domain, { username: opts.username, password }, rest);
      process.stdout.write('Login Succeeded\n');
    });

  program
    .command('logout')
    .description('Log out from a registry (removes saved credentials)')
    .argument('[server]', 'registry host (default: Docker Hub)')
    .action(async (server: string | undefined) => {
      const domain = serverDomain(server);
      if (await logout(domain)) process.stdout.write(`Removing login credentials for ${domain === 'docker.io' ? 'https://index.docker.io/v1/' : domain}\n`);
      else process.stdout.write(`Not logged in to ${domain === 'docker.io' ? 'https://index.docker.io/v1/' : domain}\n`);
    });
}
