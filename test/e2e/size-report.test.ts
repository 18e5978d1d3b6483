// The size report at the end of `kiln build` (real CLI, runc, overlayfs, busybox base): the final
// image layer by layer, and the builder stage with its size and what the image did not ship.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BusyboxSuite } from '../helpers/busybox-suite.js';

const suite = new BusyboxSuite('kiln-size-', (st) => {
  st.context(
    'ctx',
    [
      'FROM busybox AS builder',
      'RUN dd if=/dev/zero of=/big bs=1048576 count=5 2>/dev/null && echo hello > /small.txt',
      'FROM busybox',
      'COPY --from=builder /small.txt /app/small.txt',
      'CMD ["cat", "/app/small.txt"]',
      '',
    ].join('\n'),
  );
});
const kiln = (args: string[]) => suite.kiln(args);
const ctx = () => join(suite.work, 'ctx');

/** `5.24 MB` → bytes */
function bytes(s: string): number {
  const m = /^([\d.]+) (B|kB|MB|GB)$/.exec(s);
  assert.ok(m, `not a size: ${s}`);
  return Number(m[1]) * { B: 1, kB: 1e3, MB: 1e6, GB: 1e9 }[m[2] as 'B' | 'kB' | 'MB' | 'GB'];
}

test('kiln build --size-report: the image layer by layer, the builder stage with its size, not shipped', async (t) => {
  if (!suite.check(t)) return;
  const r = await kiln(['build', '--progress', 'plain', '--size-report', '-t', 'size/app:1', ctx()]);
  assert.equal(r.code, 0, r.stderr);
  const tail = r.stderr.slice(r.stderr.indexOf('naming to docker.io/size/app:1 done'));
  // after the progress output, before the one-line summary
  assert.ok(r.stderr.indexOf('#') < r.stderr.indexOf('image size/app:1:'), r.stderr);
  assert.match(tail, /^built in .*$/m);
  assert.ok(tail.indexOf('image size/app:1:') < tail.indexOf('built in'), tail);

  const head = /^image size\/app:1: (\S+ \S+) compressed, (\S+ \S+) uncompressed, 2 layers$/m.exec(tail);
  assert.ok(head, tail);
  const from = /^ +(\S+ \S+) +(\S+ \S+) {2}FROM busybox:latest \(1 layer\)$/m.exec(tail);
  assert.ok(from, tail);
  const copy = /^ +(\S+ \S+) +(\S+ \S+) {2}COPY \/small\.txt \/app\/small\.txt$/m.exec(tail);
  assert.ok(copy, tail);
  assert.equal(bytes(copy[2]!), 6); // "hello\n"
  assert.ok(Math.abs(bytes(head[2]!) - (bytes(from[2]!) + 6)) <= bytes(head[2]!) * 0.01, tail); // 3 significant digits
  assert.ok(bytes(head[2]!) < 5e6, 'the 5 MB file is not in the image');

  // the builder: busybox + 5 MiB; the busybox part is shared with the image, the rest not shipped
  const b = /^ {2}builder \(FROM busybox:latest\): (\S+ \S+), (\S+ \S+) not shipped \((\S+ \S+) is shared with the image\)$/m.exec(tail);
  assert.ok(b, tail);
  const notShipped = bytes(b[2]!);
  assert.ok(notShipped >= 5_240_000 && notShipped < 5_250_000, b[2]);
  assert.ok(Math.abs(bytes(b[1]!) - (bytes(from[2]!) + 5_242_886)) < bytes(b[1]!) * 0.01, tail);
  assert.match(tail, /^final image \S+ \S+ vs builder \S+ \S+: [\d.]+x smaller$/m);
});

test('the size report: not with -q, not with --no-size-report, only when asked for when stderr is not a terminal', async (t) => {
  if (!suite.check(t)) return;
  const q = await kiln(['build', '-q', '--size-report', ctx()]);
  assert.equal(q.code, 0, q.stderr);
  assert.match(q.stdout, /^sha256:[0-9a-f]{64}\n$/);
  assert.doesNotMatch(q.stderr, /not shipped/);
  const no = await kiln(['build', '--progress', 'plain', '--no-size-report', ctx()]);
  assert.equal(no.code, 0, no.stderr);
  assert.doesNotMatch(no.stderr, /not shipped|COMPRESSED/);
  const piped = await kiln(['build', '--progress', 'plain', ctx()]);
  assert.equal(piped.code, 0, piped.stderr);
  assert.doesNotMatch(piped.stderr, /not shipped|COMPRESSED/);
  assert.match(piped.stderr, /^built in /m);
});
