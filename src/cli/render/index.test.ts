import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isKilnError } from '../../errors.js';
import { cleanLine, formatBytes, limitString, stepTitle } from './format.js';
import { makeRenderer, parseProgressMode } from './index.js';
import { EVENTS, T0 } from './test-events.js';
import { ttyRenderer } from './tty.js';
import { cutToWidth, spread, textWidth } from './width.js';

function sink(isTTY: boolean, columns = 80, rows = 24): { out: string[]; write(s: string): void; isTTY: boolean; columns: number; rows: number } {
  const out: string[] = [];
  return { out, write: (s: string) => void out.push(s), isTTY, columns, rows };
}

test('parseProgressMode accepts BuildKit’s modes and rejects others as a usage error', () => {
  for (const m of ['auto', 'tty', 'plain', 'rawjson', 'quiet']) assert.equal(parseProgressMode(m), m);
  assert.throws(() => parseProgressMode('fancy'), (e: unknown) => isKilnError(e) && e.code === 'USAGE' && /use auto, tty, plain, rawjson or quiet/.test(e.message));
});

test('makeRenderer: auto is plain off a terminal (and with TERM=dumb), tty on one; tty off a terminal is a usage error', () => {
  const pipe = sink(false);
  const r = makeRenderer('auto', pipe, { env: {} });
  r.onEvent(EVENTS[1]!);
  r.close();
  assert.match(pipe.out.join(''), /^#1 \[builder 1\/4\] FROM/);

  const dumb = sink(true);
  const d = makeRenderer('auto', dumb, { env: { TERM: 'dumb' } });
  d.onEvent(EVENTS[1]!);
  assert.match(dumb.out.join(''), /^#1 /);

  const term = sink(true);
  const t = makeRenderer('auto', term, { env: { TERM: 'xterm' } });
  t.onEvent(EVENTS[1]!);
  t.close();
  assert.match(term.out.join(''), /\[\+\] Building .* FINISHED/);

  assert.throws(() => makeRenderer('tty', sink(false)), (e: unknown) => isKilnError(e) && e.code === 'USAGE' && /not a terminal/.test(e.message));
  const q = sink(true);
  const quiet = makeRenderer('quiet', q);
  for (const e of EVENTS) quiet.onEvent(e);
  quiet.close();
  assert.deepEqual(q.out, []);
});

test('tty: redraws in place (cursor up + clear line, never a screen clear), at most one frame per interval', async () => {
  const term = sink(true, 50, 20);
  let now = T0;
  const r = ttyRenderer(term, { now: () => now, frameMs: 100 });
  for (const e of EVENTS.slice(0, 12)) r.onEvent(e);
  assert.equal(term.out.length, 0, 'events are batched into the next frame');
  await new Promise((res) => setTimeout(res, 30));
  assert.equal(term.out.length, 1);
  now = T0 + 2000;
  r.onEvent(EVENTS[12]!);
  await new Promise((res) => setTimeout(res, 30));
  assert.equal(term.out.length, 1, 'a second frame waits for the interval');
  await new Promise((res) => setTimeout(res, 120));
  assert.ok(term.out.length >= 2);
  r.close();
  const all = term.out.join('');
  assert.ok(!all.includes('\x1b[2J') && !all.includes('\x1b[H'), 'no full-screen clear');
  const second = term.out[1]!;
  const firstLines = term.out[0]!.split('\n').length - 1;
  assert.ok(second.includes(`\x1b[${firstLines}A`), 'moves up over the previous frame');
  // eslint-disable-next-line no-control-regex
  const strip = (s: string): string => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
  const last = strip(term.out[term.out.length - 1]!).split('\n').filter((l) => l !== '');
  assert.match(last[0]!, /^\[\+\] Building 2\.0s \(4\/4\) FINISHED$/);
  assert.ok(last.includes(' => CANCELED [builder 3/4] RUN npm ci         1.6s'), last.join('\n'));
  for (const l of last) assert.ok(textWidth(l) <= 50, l);
});

test('tty: a frame taller than the terminal drops finished rows first, running steps stay', async () => {
  const term = sink(true, 60, 6);
  const r = ttyRenderer(term, { now: () => T0 + 1000, frameMs: 10 });
  for (let i = 1; i <= 6; i++) {
    r.onEvent({ type: 'step.start', id: i, stage: 's', name: `RUN step${i}`, pos: `${i}/8`, time: T0 });
    if (i < 5) r.onEvent({ type: 'step.done', id: i, ms: 10, time: T0 });
  }
  await new Promise((res) => setTimeout(res, 40));
  r.close();
  // eslint-disable-next-line no-control-regex
  const frame = term.out[0]!.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '').split('\n').filter((l) => l !== '');
  assert.equal(frame.length, 5);
  assert.ok(frame.some((l) => l.includes('step5')) && frame.some((l) => l.includes('step6')));
  assert.ok(!frame.some((l) => l.includes('step1')));
});

test('format helpers', () => {
  assert.equal(formatBytes(85), '85B');
  assert.equal(formatBytes(1_050_000), '1.05MB');
  assert.equal(formatBytes(3_400_000_000), '3.40GB');
  assert.equal(stepTitle('', 'RUN x', '2/3'), '[2/3] RUN x');
  assert.equal(stepTitle('b', 'RUN x', '2/3'), '[b 2/3] RUN x');
  assert.equal(stepTitle('b', 'exporting to image', undefined), 'exporting to image');
  assert.equal(limitString('abcdef', 5), 'ab...');
  assert.equal(cleanLine('\x1b[32mok\x1b[0m\tdone'), 'ok    done');
  assert.equal(cleanLine(' 10%\r 50%\r100%'), '100%');
  assert.equal(textWidth('日本'), 4);
  assert.equal(cutToWidth('日本語', 5), '日本');
  assert.equal(spread('abcdef', ' 1.0s', 8), 'abc 1.0s');
  assert.equal(spread('ab', ' 1.0s', 10), 'ab    1.0s');
});

test('tty: a failed step keeps its last output lines under its ERROR row in the final frame', () => {
  const term = sink(true, 60, 20);
  const r = ttyRenderer(term, { now: () => T0 + 500, tailLines: 2 });
  r.onEvent({ type: 'step.start', id: 1, stage: '', name: 'RUN make', pos: '2/2', time: T0 });
  r.onEvent({ type: 'step.log', id: 1, stream: 'stdout', text: 'one\ntwo\nthree\nfour', time: T0 + 100 });
  r.onEvent({ type: 'step.error', id: 1, message: 'exit code: 2', time: T0 + 300 });
  r.close();
  // eslint-disable-next-line no-control-regex
  const last = term.out.at(-1)!.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '').split('\n').filter((l) => l !== '');
  assert.deepEqual(last, ['[+] Building 0.0s (1/1) FAILED', ' => ERROR [2/2] RUN make' + ' '.repeat(32) + '0.3s', ' => => # three', ' => => # four']);
});

test('makeRenderer: auto follows KILN_PROGRESS, then BUILDKIT_PROGRESS (as buildx); a bad value is a usage error', () => {
  const a = sink(true);
  const r = makeRenderer('auto', a, { env: { BUILDKIT_PROGRESS: 'rawjson', TERM: 'xterm' } });
  r.onEvent(EVENTS[0]!);
  assert.match(a.out.join(''), /^\{"v":1,"type":"warning"/);
  const b = sink(false);
  makeRenderer('auto', b, { env: { BUILDKIT_PROGRESS: 'rawjson', KILN_PROGRESS: 'plain' } }).onEvent(EVENTS[1]!);
  assert.match(b.out.join(''), /^#1 /);
  assert.throws(() => makeRenderer('auto', sink(false), { env: { BUILDKIT_PROGRESS: 'fancy' } }), (e: unknown) => isKilnError(e) && e.code === 'USAGE' && /BUILDKIT_PROGRESS/.test(e.message));
  const c = sink(false);
  makeRenderer('plain', c, { env: { BUILDKIT_PROGRESS: 'rawjson' } }).onEvent(EVENTS[1]!);
  assert.match(c.out.join(''), /^#1 /, 'an explicit --progress wins');
});

// 1 KiB events: re-scanning the growing line on each (the bug this guards against) takes minutes
test('tty: 20 MB of output without a newline costs linear time, and the frame stays one screen', { timeout: 20_000 }, async () => {
  const term = sink(true, 60, 20);
  const r = ttyRenderer(term, { now: () => T0 + 500, frameMs: 0 });
  r.onEvent({ type: 'step.start', id: 1, stage: '', name: 'RUN spam', pos: '2/2', time: T0 });
  const piece = 'x'.repeat(1024);
  for (let n = 0; n < 20_000_000; n += piece.length) {
    r.onEvent({ type: 'step.log', id: 1, stream: 'stdout', text: piece, time: T0 + 100 });
    if (n % (1 << 20) === 0) await new Promise((res) => setImmediate(res)); // let frames be drawn
  }
  r.onEvent({ type: 'step.done', id: 1, ms: 400, time: T0 + 400 });
  r.close();
  for (const frame of term.out) assert.ok(frame.length < 4096, `a frame of ${frame.length} characters`);
});
