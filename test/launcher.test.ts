// bin/kiln, the command npm installs: it runs bin/kiln.js from wherever it is linked, and it keeps
// NODE_EXTRA_CA_CERTS away from Node's start-up (Node 20 parses that file before any JavaScript
// runs) by handing it to kiln as KILN_EXTRA_CA_CERTS. test/e2e/add-url.test.ts shows the CAs are
// still trusted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
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

test('output larger than a pipe holds reaches a slow reader whole before kiln exits', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-launcher-'));
  try {
    // a parse tree of a few MB: the pipe takes 64 KiB, Node queues the rest
    const lines = Array.from({ length: 20000 }, (_, i) => `LABEL k${i}=v${i}`);
    writeFileSync(join(dir, 'Dockerfile'), `FROM scratch\n${lines.join('\n')}\n`);
    const child = spawn(KILN_BIN, ['debug', 'parse', '--format', 'json', join(dir, 'Dockerfile')], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pause(); // read nothing until kiln has had time to finish and exit
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const closed = new Promise((resolve) => child.stdout.once('close', resolve));
    await new Promise((r) => setTimeout(r, 1500));
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.stdout.on('data', (b: Buffer) => chunks.push(b));
    child.stdout.resume();
    assert.equal(await exited, 0, stderr);
    await closed;
    const out = Buffer.concat(chunks).toString();
    assert.ok(out.length > 1_000_000, `${out.length} bytes`);
    const tree = JSON.parse(out) as { stages: Array<{ instructions: unknown[] }> };
    assert.equal(tree.stages[0]!.instructions.length, 20000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
