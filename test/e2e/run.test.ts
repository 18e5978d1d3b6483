// `kiln run` end to end (real CLI, runc, a busybox image in the store): the exit code as docker
// run gives it, stdin only with -i, a terminal with -t (under `script`, which gives kiln one),
// and docker's refusal of -it without a terminal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { runKiln, KILN_BIN } from '../helpers/cli.js';
import { which } from '../helpers/prereq.js';
import { BusyboxSuite } from '../helpers/busybox-suite.js';

const suite = new BusyboxSuite('kiln-run-');
const run = (args: string[], input?: string) => runKiln(['run', ...args], { env: { KILN_ROOT: suite.root }, timeoutMs: 60_000, ...(input !== undefined ? { input } : {}) });

test('kiln run: the exit code is the container\'s, stdin reaches it only with -i', async (t) => {
  if (!suite.check(t)) return;
  const piped = await run(['-i', 'busybox', 'tr', 'a-z', 'A-Z'], 'hello\n');
  assert.equal(piped.code, 0, piped.stderr);
  assert.equal(piped.stdout, 'HELLO\n');
  const closed = await run(['busybox', 'cat'], 'not for the container\n');
  assert.equal(closed.code, 0, closed.stderr);
  assert.equal(closed.stdout, '', 'without -i the container reads nothing (docker run attaches no stdin)');
  const failed = await run(['busybox', 'sh', '-c', 'echo out; exit 3']);
  assert.equal(failed.code, 3);
  assert.equal(failed.stdout, 'out\n');
  const detached = await run(['-d', 'busybox', 'true']);
  assert.equal(detached.code, 125);
  assert.match(detached.stderr, /-d is not supported by kiln run/);
});

test('kiln run -t gives the container a terminal; -it without one is refused as docker refuses it', async (t) => {
  if (!suite.check(t, { ok: which('script') !== undefined, what: 'script (util-linux)' })) return;
  // `script` runs kiln on a pseudo-terminal of its own
  const tty = spawnSync('script', ['-eqc', `${KILN_BIN} run -it busybox sh -c 'tty; exit 4'`, '/dev/null'], { env: { ...process.env, KILN_ROOT: suite.root }, encoding: 'utf8', timeout: 60_000, input: '' });
  assert.equal(tty.status, 4, tty.stdout + tty.stderr);
  assert.match(tty.stdout, /\/dev\/pts\/\d+/);
  const refused = await run(['-it', 'busybox', 'true']);
  assert.equal(refused.code, 125);
  assert.match(refused.stderr, /^ERROR: the input device is not a TTY$/m);
});
