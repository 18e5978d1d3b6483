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

test('kiln run: docker run\'s 127 and 126, -e NAME from the environment, -w checked, an image by ID, a closed pipe ends it with 141', async (t) => {
  if (!suite.check(t)) return;
  const missing = await run(['busybox', '/nonexistent']);
  assert.equal(missing.code, 127, missing.stderr);
  assert.match(missing.stderr, /^ERROR: cannot start "\/nonexistent": .*no such file or directory/m);
  const notExec = await run(['busybox', '/etc']);
  assert.equal(notExec.code, 126, notExec.stderr);
  const env = await runKiln(['run', '-e', 'FROM_HOST', '-e', 'UNSET_HERE', 'busybox', 'sh', '-c', 'echo "$FROM_HOST"; env | grep -c UNSET_HERE'], { env: { KILN_ROOT: suite.root, FROM_HOST: 'yes', UNSET_HERE: undefined } });
  assert.equal(env.stdout, 'yes\n0\n', env.stderr);
  for (const bad of [['-e', '=x'], ['-w', 'relative']]) {
    const r = await run([...bad, 'busybox', 'true']);
    assert.equal(r.code, 125, `${bad.join(' ')}: ${r.stderr}`);
  }
  const info = JSON.parse((await runKiln(['inspect', 'busybox'], { env: { KILN_ROOT: suite.root } })).stdout) as { Id: string }[];
  const id = info[0]!.Id.replace(/^sha256:/, '').slice(0, 12);
  const byId = await run([id, 'echo', 'by-id']);
  assert.equal(byId.stdout, 'by-id\n', byId.stderr);
  // the reader of kiln's output goes away: the container is stopped, no EPIPE stack trace
  const piped = spawnSync('bash', ['-c', `${KILN_BIN} run busybox sh -c 'while true; do echo y; done' | head -1; echo "status=\${PIPESTATUS[0]}"`], { env: { ...process.env, KILN_ROOT: suite.root }, encoding: 'utf8', timeout: 60_000 });
  assert.deepEqual(piped.stdout.split('\n').slice(0, 2), ['y', 'status=141'], piped.stderr);
  assert.doesNotMatch(piped.stderr, /EPIPE|at .*\.js/, piped.stderr);
});
