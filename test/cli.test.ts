import { test } from 'node:test';
import assert from 'node:assert/strict';
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
