// `--ssh ID=KEYFILE[,KEYFILE…]`: buildx serves key files through an agent of its own (sshprovider);
// kiln starts a private ssh-agent with those keys for the build, and RUN --mount=type=ssh,id=ID
// forwards it like any other agent. Keys with a passphrase cannot be loaded without a prompt:
// that is an error that says to add them to an agent instead.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError } from '../../errors.js';
import { makeTempDir, removeTree } from '../../support/index.js';

/** Starts `ssh-agent` with `keys` loaded; its socket, removed (and the agent stopped) when kiln exits. */
export async function agentWithKeys(spec: string, keys: readonly string[], tmpParent: string): Promise<string> {
  mkdirSync(tmpParent, { recursive: true });
  const dir = makeTempDir('kiln-sshkeys-', tmpParent);
  const sock = join(dir, 'agent.sock');
  let agent;
  try {
    agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
  } catch (e: unknown) {
    removeTree(dir);
    throw noAgent(spec, e);
  }
  const stop = (): void => {
    agent.kill('SIGTERM');
    removeTree(dir);
  };
  process.once('exit', stop);
  const started = await new Promise<unknown>((resolve) => {
    agent.once('error', resolve);
    const t0 = Date.now();
    const poll = (): void => {
      if (existsSync(sock)) resolve(undefined);
      else if (agent.exitCode !== null || Date.now() - t0 > 10_000) resolve(new Error('ssh-agent did not start'));
      else setTimeout(poll, 10);
    };
    poll();
  });
  if (started !== undefined) {
    stop();
    throw noAgent(spec, started);
  }
  // no prompt: a key with a passphrase fails here instead of waiting on a terminal (setsid: no
  // controlling terminal, so ssh-add cannot ask on /dev/tty either)
  const add = spawnSync('setsid', ['-w', 'ssh-add', '-q', '--', ...keys], {
    env: { ...process.env, SSH_AUTH_SOCK: sock, SSH_ASKPASS_REQUIRE: 'never', DISPLAY: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (add.status !== 0) {
    stop();
    const out = `${add.stderr ?? ''}${add.error ? String(add.error) : ''}`.trim();
    const why = /passphrase/i.test(out) ? 'it has a passphrase' : (out.split('\n').pop() ?? '');
    throw new KilnError('USAGE', `--ssh ${spec}: cannot load the key${keys.length > 1 ? 's' : ''}${why ? `: ${why}` : ''}`, {
      hint: 'a key with a passphrase must be added to an agent first (eval $(ssh-agent); ssh-add KEY), then pass --ssh default=$SSH_AUTH_SOCK',
    });
  }
  return sock;
}

function noAgent(spec: string, cause: unknown): KilnError {
  return new KilnError('USAGE', `--ssh ${spec}: cannot start ssh-agent to serve the key files`, {
    cause,
    hint: 'install openssh-client, or start an agent yourself and pass its socket: --ssh default=$SSH_AUTH_SOCK',
  });
}
