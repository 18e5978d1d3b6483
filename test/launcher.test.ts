// bin/kiln, the command npm installs: it runs bin/kiln.js from wherever it is linked, and it keeps
// NODE_EXTRA_CA_CERTS away from Node's start-up (Node 20 parses that file before any JavaScript
// runs) by handing it to kiln as KILN_EXTRA_CA_CERTS. test/e2e/add-url.test.ts shows the CAs are
// still trusted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KILN_BIN, PROJECT_ROOT, runKiln } from './helpers/cli.js';

const NODE_WARNING = /Ignoring extra certs from/;

test('bin/kiln runs through an npm-style symlink and by a bare name', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-launcher-'));
  try {
    mkdirSync(join(dir, '.bin'));
    symlinkSync(KILN_BIN, join(dir, '.bin', 'kiln'));
    const linked = await runKiln(['version'], { bin: join(dir, '.bin', 'kiln'), cwd: dir });
    assert.equal(linked.code, 0, linked.stderr);
    assert.match(linked.stdout, /^kiln \d+\.\d+\.\d+$/m);
    // `sh kiln` in its own directory: $0 has no slash
    const bare = spawnSync('sh', ['kiln', 'version'], { cwd: join(PROJECT_ROOT, 'bin'), encoding: 'utf8' });
    assert.equal(bare.status, 0, bare.stderr);
    assert.match(bare.stdout, /^kiln \d+\.\d+\.\d+$/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('NODE_EXTRA_CA_CERTS does not reach Node: kiln.js alone makes Node read it, bin/kiln does not', async () => {
  const env = { NODE_EXTRA_CA_CERTS: '/nonexistent/kiln-test-ca.pem', KILN_EXTRA_CA_CERTS: undefined };
  // the premise: Node reads the file at start-up, and says so when it cannot
  const direct = await runKiln(['version'], { bin: join(PROJECT_ROOT, 'bin', 'kiln.js'), env });
  assert.equal(direct.code, 0, direct.stderr);
  assert.match(direct.stderr, NODE_WARNING);
  const launched = await runKiln(['version'], { env });
  assert.equal(launched.code, 0, launched.stderr);
  assert.doesNotMatch(launched.stderr, NODE_WARNING);
  assert.equal(launched.stderr, '');
  // a KILN_EXTRA_CA_CERTS of one's own: NODE_EXTRA_CA_CERTS is left to Node, not dropped
  const both = await runKiln(['version'], { env: { ...env, KILN_EXTRA_CA_CERTS: '/nonexistent/other.pem' } });
  assert.equal(both.code, 0, both.stderr);
  assert.match(both.stderr, NODE_WARNING);
});
