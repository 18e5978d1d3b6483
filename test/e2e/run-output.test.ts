// A RUN step that prints a lot: BuildKit's per-step log limit (BUILDKIT_STEP_LOG_MAX_SIZE), with
// the real CLI, runc and a busybox base image.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BusyboxSuite } from '../helpers/busybox-suite.js';

const suite = new BusyboxSuite('kiln-e2e-runout-');
const context = (name: string, dockerfile: string) => suite.context(name, dockerfile);
const kiln = (args: string[], env: Record<string, string> = {}) => suite.kiln(args, env);

const SPAM = 'RUN head -c 5000000 /dev/zero | tr "\\0" x; echo; echo last-line';

test('5 MB on one line: 2 MiB shown, then the clip line; the step runs to the end', { timeout: 150_000 }, async (t) => {
  if (!suite.check(t)) return;
  const dir = context('clip', `FROM busybox\n${SPAM}\nRUN echo after > /after\n`);
  const r = await kiln(['build', '--progress', 'plain', '--no-cache', '-t', 'e2e/clip:1', dir]);
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  assert.ok(r.stderr.length < 2.5 * 1024 * 1024, `${r.stderr.length} bytes of stderr`);
  assert.match(r.stderr, /^#2 \d+\.\d{3} \[output clipped, log limit 2MiB reached\]$/m);
  assert.equal(r.stderr.split('[output clipped').length, 2, 'one clip line');
  assert.doesNotMatch(r.stderr, /last-line/);
  assert.match(r.stderr, /^#2 DONE /m);
  assert.match(r.stderr, /^#3 DONE /m, 'the next step ran');
});

test('BUILDKIT_STEP_LOG_MAX_SIZE=-1 shows everything; a failed step still reports its real last lines, bounded', { timeout: 150_000 }, async (t) => {
  if (!suite.check(t)) return;
  const all = await kiln(['build', '--progress', 'plain', '--no-cache', context('noclip', `FROM busybox\n${SPAM}\n`)], { BUILDKIT_STEP_LOG_MAX_SIZE: '-1' });
  assert.equal(all.code, 0, all.stderr.slice(-2000));
  assert.doesNotMatch(all.stderr, /output clipped/);
  assert.match(all.stderr, /^#2 \d+\.\d{3} last-line$/m);

  const failed = await kiln(['build', '--progress', 'plain', '--no-cache', context('fail', `FROM busybox\n${SPAM}; exit 3\n`)]);
  assert.equal(failed.code, 1);
  assert.ok(failed.stderr.length < 2.5 * 1024 * 1024, `${failed.stderr.length} bytes of stderr`);
  assert.match(failed.stderr, /\[output clipped, log limit 2MiB reached\]/);
  const report = failed.stderr.slice(failed.stderr.indexOf('output (last lines):'));
  // the 5 MB line is cut off (the tail keeps whole lines), the line after it is there
  assert.match(report, /^output \(last lines\):\n {2}last-line\n/);
  assert.ok(report.length < 20_000, `${report.length} characters of report`);
});
