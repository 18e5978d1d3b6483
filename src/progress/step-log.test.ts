import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_STEP_LOG_MAX_SIZE, LogClipper, clipNotice, formatLogLimit, stepLogMaxSize, stepLogWriter } from './step-log.js';

/** Writes `total` bytes of `x` (no newline) in `chunk`-byte writes and collects what is emitted. */
function feed(total: number, chunk: number, limit?: number): string[] {
  const out: string[] = [];
  const w = stepLogWriter((t) => out.push(t), limit);
  const piece = Buffer.alloc(chunk, 'x');
  for (let n = 0; n < total; n += chunk) w.write(piece.subarray(0, Math.min(chunk, total - n)));
  return out;
}

test('the limit comes from BUILDKIT_STEP_LOG_MAX_SIZE, parsed like BuildKit (an int32, else 2 MiB)', () => {
  assert.equal(stepLogMaxSize({}), DEFAULT_STEP_LOG_MAX_SIZE);
  assert.equal(DEFAULT_STEP_LOG_MAX_SIZE, 2 * 1024 * 1024);
  assert.equal(stepLogMaxSize({ BUILDKIT_STEP_LOG_MAX_SIZE: '-1' }), -1);
  assert.equal(stepLogMaxSize({ BUILDKIT_STEP_LOG_MAX_SIZE: '1048576' }), 1048576);
  assert.equal(stepLogMaxSize({ BUILDKIT_STEP_LOG_MAX_SIZE: '1M' }), DEFAULT_STEP_LOG_MAX_SIZE);
  assert.equal(stepLogMaxSize({ BUILDKIT_STEP_LOG_MAX_SIZE: '' }), DEFAULT_STEP_LOG_MAX_SIZE);
  assert.equal(stepLogMaxSize({ BUILDKIT_STEP_LOG_MAX_SIZE: '99999999999' }), DEFAULT_STEP_LOG_MAX_SIZE);
});

test('the notice names the limit as BuildKit does', () => {
  assert.equal(clipNotice(2 * 1024 * 1024), '\n[output clipped, log limit 2MiB reached]\n');
  assert.equal(formatLogLimit(1024 * 1024), '1MiB');
  assert.equal(formatLogLimit(1536), '1.5KiB');
  assert.equal(formatLogLimit(1000), '1000B');
  assert.equal(formatLogLimit(0), '0B');
});

test('20 MB without a newline: 2 MiB shown, then the notice once, then nothing', { timeout: 60_000 }, () => {
  const out = feed(20_000_000, 4096);
  const all = out.join('');
  assert.ok(all.endsWith('\n[output clipped, log limit 2MiB reached]\n'));
  assert.equal(all.length, DEFAULT_STEP_LOG_MAX_SIZE + clipNotice(DEFAULT_STEP_LOG_MAX_SIZE).length);
  assert.equal(all.split('[output clipped').length, 2);
});

test('-1 shows everything; 0 shows only the notice', { timeout: 60_000 }, () => {
  assert.equal(feed(5_000_000, 65536, -1).join('').length, 5_000_000);
  assert.deepEqual(feed(10, 3, 0), ['\n[output clipped, log limit 0B reached]\n']);
});

test('UTF-8 split across writes is decoded whole, and the clip never halves a character', () => {
  const out: string[] = [];
  const w = stepLogWriter((t) => out.push(t), -1);
  const e = Buffer.from('é€😀\n');
  for (let i = 0; i < e.length; i++) w.write(e.subarray(i, i + 1));
  assert.equal(out.join(''), 'é€😀\n');
  // a limit of 3 bytes falls inside '€' (bytes 2-4): only 'é' is shown
  const c = new LogClipper(2 + 1);
  assert.equal(c.take(Buffer.from('é€')).show.toString(), 'é');
  assert.equal(c.take(Buffer.from('more')).notice, false, 'the notice comes once');
});
