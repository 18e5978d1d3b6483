import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plainRenderer } from './plain.js';
import { EVENTS, T0 } from './test-events.js';
import { DEFAULT_STEP_LOG_MAX_SIZE, ProgressEmitter, stepLogWriter } from '../../progress/index.js';

function render(events = EVENTS): string {
  let out = '';
  const r = plainRenderer((s) => (out += s));
  for (const e of events) r.onEvent(e);
  r.close();
  return out;
}

test('plain: golden output of a scripted two-stage build (BuildKit textMux format)', () => {
  assert.equal(
    render(),
    [
      '#1 [builder 1/4] FROM docker.io/library/node:20@sha256:0123456789abcdef0...',
      '#1 sha256:aaaaaaaaaaaabbbbbbbbbbbbccccccccccccddddddddddddeeeeeeeeeeeeffff 0B / 3.40MB 0.0s',
      '#1 sha256:aaaaaaaaaaaabbbbbbbbbbbbccccccccccccddddddddddddeeeeeeeeeeeeffff 3.40MB / 3.40MB 0.3s done',
      '#1 DONE 0.4s',
      '',
      '#2 [builder 2/4] COPY package.json .',
      '#2 CACHED',
      '',
      '#3 [builder 3/4] RUN npm ci',
      '#3 cache miss: no cached result',
      '#3 ...',
      '',
      '#4 [assets 2/2] RUN make css',
      '#4 ...',
      '',
      '#3 [builder 3/4] RUN npm ci',
      '#3 0.512 npm warn deprecated inflight@1.0.6',
      '#3 ...',
      '',
      '#4 [assets 2/2] RUN make css',
      '#4 0.550 building css',
      '#4 ...',
      '',
      '#3 [builder 3/4] RUN npm ci',
      '#3 3.072 added 80 packages in 3s',
      '#3 ...',
      '',
      '#4 [assets 2/2] RUN make css',
      '#4 DONE 1.1s',
      '',
      '#3 [builder 3/4] RUN npm ci',
      '#3 DONE 4.2s',
      '',
      '#5 [builder 4/4] COPY --from=assets /out/site.css /app/public/css/with/a...',
      '#5 DONE 0.0s',
      '',
      '#6 exporting to image',
      '#6 DONE 0.3s',
      '',
      ' 1 warning found:',
      ' - One or more build-args [UNUSED] were not consumed',
      '',
    ].join('\n'),
  );
});

test('plain: an error ends the step; steps still running at close are CANCELED; an unfinished line is flushed', () => {
  const out = render([
    { type: 'step.start', id: 1, stage: '', name: 'RUN false', pos: '2/2', time: T0 },
    { type: 'step.log', id: 1, stream: 'stderr', text: 'no newline', time: T0 + 1234 },
    { type: 'step.error', id: 1, message: 'process "/bin/sh -c false" did not complete successfully: exit code: 1', time: T0 + 1500 },
    { type: 'step.start', id: 2, stage: 'other', name: 'RUN sleep 100', pos: '2/2', time: T0 + 10 },
    { type: 'step.log', id: 2, stream: 'stdout', text: 'half', time: T0 + 20 },
  ]);
  assert.equal(
    out,
    [
      '#1 [2/2] RUN false',
      '#1 1.500 no newline',
      '#1 ERROR: process "/bin/sh -c false" did not complete successfully: exit code: 1',
      '',
      '#2 [other 2/2] RUN sleep 100',
      '#2 0.010 half',
      '#2 CANCELED',
      '',
      '',
    ].join('\n'),
  );
});

test('plain: an unfinished blob is reported again only after 5 s and 5% more; events after DONE are ignored', () => {
  const d = 'sha256:' + '1'.repeat(64);
  const out = render([
    { type: 'step.start', id: 1, stage: 's', name: 'FROM x', pos: '1/1', time: T0 },
    { type: 'blob.progress', id: 1, digest: d, done: 100, total: 10_000_000, time: T0 },
    { type: 'blob.progress', id: 1, digest: d, done: 400_000, total: 10_000_000, time: T0 + 4000 },
    { type: 'blob.progress', id: 1, digest: d, done: 450_000, total: 10_000_000, time: T0 + 6000 },
    { type: 'blob.progress', id: 1, digest: d, done: 5_000_000, total: 10_000_000, time: T0 + 6100 },
    { type: 'blob.progress', id: 1, digest: d, done: 2_000_000_000, time: T0 + 12_000 },
    { type: 'step.done', id: 1, ms: 12_345, time: T0 + 12_345 },
    { type: 'step.log', id: 1, stream: 'stdout', text: 'late\n', time: T0 + 13_000 },
    { type: 'step.done', id: 1, ms: 1, time: T0 + 13_000 },
  ]);
  assert.equal(
    out,
    [
      '#1 [s 1/1] FROM x',
      `#1 ${d} 100B / 10.00MB 0.0s`,
      `#1 ${d} 5.00MB / 10.00MB 6.1s`,
      `#1 ${d} 2.00GB 12.0s`,
      '#1 DONE 12.3s',
      '',
      '',
    ].join('\n'),
  );
});

test('plain: 20 MB on one line from a RUN step is clipped at the step log limit, in linear time', { timeout: 60_000 }, () => {
  let out = '';
  const r = plainRenderer((s) => (out += s));
  const progress = new ProgressEmitter(r.onEvent);
  const id = progress.start('', 'RUN yes | head', '2/2');
  const w = stepLogWriter((t) => progress.log(id, 'stdout', t), DEFAULT_STEP_LOG_MAX_SIZE);
  const piece = Buffer.alloc(4096, 'x');
  for (let n = 0; n < 20_000_000; n += piece.length) w.write(piece);
  w.write(Buffer.from('\nlast-line\n'));
  progress.done(id, 1000);
  r.close();
  assert.ok(out.length < DEFAULT_STEP_LOG_MAX_SIZE + 64 * 1024, `${out.length} characters printed`);
  assert.match(out, /\n#1 \d+\.\d{3} \[output clipped, log limit 2MiB reached\]\n#1 DONE 1\.0s\n\n$/);
  assert.doesNotMatch(out, /last-line/);
  // the long line is printed in pieces, each a `#1 <time> ` line of its own
  for (const l of out.split('\n').slice(1, -4)) assert.match(l, /^#1 \d+\.\d{3} x{1,65536}$/);
});
