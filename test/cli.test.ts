import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runKiln } from './helpers/cli.js';

test('kiln --help lists commands and exits 0', async () => {
  const r = await runKiln(['--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /Usage: kiln/);
  assert.match(r.stdout, /version/);
});

test('an unknown command exits 125 like the docker CLI, with a message', async () => {
  const r = await runKiln(['bogus-command']);
  assert.equal(r.code, 125);
  assert.match(r.stderr, /unknown command 'bogus-command'/);
});

test('--platform local (buildx) and a list naming the native platform twice build for the native platform', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-platform-'));
  try {
    writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\nARG TARGETPLATFORM\nLABEL target=$TARGETPLATFORM\n');
    const native = `linux/${process.arch === 'arm64' ? 'arm64' : 'amd64'}`;
    const env = { KILN_ROOT: join(dir, 'root') };
    for (const [tag, platform] of [['p:local', 'local'], ['p:twice', `${native},local`]] as const) {
      const r = await runKiln(['build', '--progress', 'plain', '--platform', platform, '-t', tag, dir], { env });
      assert.equal(r.code, 0, r.stderr);
      const info = JSON.parse((await runKiln(['inspect', tag], { env })).stdout) as Array<{ Config: { Labels: Record<string, string> } }>;
      assert.equal(info[0]!.Config.Labels['target'], native);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
