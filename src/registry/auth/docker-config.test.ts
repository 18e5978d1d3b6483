import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KilnError } from '../../errors.js';
import { authKey, dockerConfigPath, eraseCredentials, loadCredentials, saveCredentials } from './docker-config.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

function withDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-dockercfg-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test('config path: $DOCKER_CONFIG wins over ~/.docker', () => {
  assert.equal(dockerConfigPath({ DOCKER_CONFIG: '/x/y', HOME: '/h' }), '/x/y/config.json');
  assert.equal(dockerConfigPath({ HOME: '/h' }), '/h/.docker/config.json');
  assert.equal(authKey('docker.io'), 'https://index.docker.io/v1/');
  assert.equal(authKey('ghcr.io'), 'ghcr.io');
});

test('auths: base64 auth, identitytoken, keys with scheme and path, missing file', withDir(async (dir) => {
  const path = join(dir, 'config.json');
  assert.equal(await loadCredentials('ghcr.io', { path }), undefined);
  writeFileSync(path, JSON.stringify({
    auths: {
      'https://index.docker.io/v1/': { auth: b64('hubuser:hub:pass') },
      'https://localhost:5000/v2/': { auth: b64('lo:pw') },
      'quay.io': { identitytoken: 'refresh-tok' },
      'bad.io': { auth: b64('nocolon') },
    },
  }));
  assert.deepEqual(await loadCredentials('docker.io', { path }), { username: 'hubuser', password: 'hub:pass' });
  assert.deepEqual(await loadCredentials('localhost:5000', { path }), { username: 'lo', password: 'pw' });
  assert.deepEqual(await loadCredentials('quay.io', { path }), { identityToken: 'refresh-tok' });
  assert.equal(await loadCredentials('other.io', { path }), undefined);
  await assert.rejects(loadCredentials('bad.io', { path }), (e: unknown) => e instanceof KilnError && e.code === 'REGISTRY_AUTH' && !e.message.includes('nocolon'));
}));

test('save (0600, keeps other keys) and erase', withDir(async (dir) => {
  const path = join(dir, 'sub', 'config.json');
  mkdirSync(join(dir, 'sub'));
  writeFileSync(path, JSON.stringify({ auths: { 'x.io': { auth: b64('a:b') } }, psFormat: 'table' }));
  await saveCredentials('localhost:5000', { username: 'u', password: 'p' }, { path });
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const cfg = JSON.parse(readFileSync(path, 'utf8')) as { auths: Record<string, { auth: string }>; psFormat: string };
  assert.equal(cfg.psFormat, 'table');
  assert.equal(cfg.auths['localhost:5000']!.auth, b64('u:p'));
  assert.equal(cfg.auths['x.io']!.auth, b64('a:b'));
  assert.equal(await eraseCredentials('localhost:5000', { path }), true);
  assert.equal(await loadCredentials('localhost:5000', { path }), undefined);
  assert.equal(await eraseCredentials('localhost:5000', { path }), false);
  assert.deepEqual(await loadCredentials('x.io', { path }), { username: 'a', password: 'b' });
}));

test('credential helpers: credHelpers per registry, credsStore default, spawned with stdin', withDir(async (dir) => {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const log = join(dir, 'helper.log');
  // a real docker-credential-* program: get prints JSON, store/erase record their stdin
  writeFileSync(join(bin, 'docker-credential-kilntest'), `#!/bin/sh
input=$(cat)
echo "$1 $input" >> ${log}
case "$1" in
  get)
    case "$input" in
      reg.example) echo '{"ServerURL":"reg.example","Username":"hu","Secret":"hs"}' ;;
      tok.example) echo '{"ServerURL":"tok.example","Username":"<token>","Secret":"idtok"}' ;;
      *) echo "credentials not found in native keychain"; exit 1 ;;
    esac ;;
  store|erase) ;;
esac
`);
  chmodSync(join(bin, 'docker-credential-kilntest'), 0o755);
  const path = join(dir, 'config.json');
  writeFileSync(path, JSON.stringify({ credsStore: 'kilntest', credHelpers: { 'other.example': 'missing-helper' } }));
  const oldPath = process.env['PATH'];
  process.env['PATH'] = `${bin}:${oldPath}`;
  try {
    assert.deepEqual(await loadCredentials('reg.example', { path }), { username: 'hu', password: 'hs' });
    assert.deepEqual(await loadCredentials('tok.example', { path }), { identityToken: 'idtok' });
    assert.equal(await loadCredentials('none.example', { path }), undefined);
    await assert.rejects(loadCredentials('other.example', { path }), (e: unknown) => e instanceof KilnError && e.code === 'REGISTRY_AUTH' && /docker-credential-missing-helper/.test(e.message));
    await saveCredentials('reg.example', { username: 'nu', password: 'np' }, { path });
    assert.equal(await eraseCredentials('reg.example', { path }), true);
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    assert.ok(lines.includes('store {"ServerURL":"reg.example","Username":"nu","Secret":"np"}'), lines.join('\n'));
    assert.ok(lines.includes('erase reg.example'));
    // the password went to the helper, not into the file
    assert.ok(!readFileSync(path, 'utf8').includes('np'));
  } finally {
    process.env['PATH'] = oldPath;
  }
}));
