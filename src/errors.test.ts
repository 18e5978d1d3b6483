import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KilnError, SHOWN_TEXT_MAX, formatError, shortenText, toKilnError } from './errors.js';

test('formatError shows file:line, the marked line and context, and the hint', () => {
  const lines = ['FROM busybox', 'RUN true', 'RUNN echo hi', 'CMD ["sh"]'];
  const e = new KilnError('UNKNOWN_INSTRUCTION', 'unknown instruction: RUNN', {
    location: [{ file: 'Dockerfile', startLine: 3, endLine: 3 }],
    sourceLines: lines,
    hint: 'did you mean RUN?',
  });
  const s = formatError(e);
  assert.match(s, /^Dockerfile:3\n/);
  assert.match(s, / 3 \| >>> RUNN echo hi/);
  assert.match(s, / 2 \|     RUN true/);
  assert.match(s, /ERROR: Dockerfile:3: unknown instruction: RUNN/);
  assert.match(s, /hint: did you mean RUN\?/);
  assert.doesNotMatch(s, /at .*errors/); // no stack without debug
  assert.match(formatError(e, { debug: true }), /code: UNKNOWN_INSTRUCTION/);
});

test('toKilnError classifies errno errors as IO and others as INTERNAL', () => {
  const io = Object.assign(new Error('nope'), { code: 'ENOENT' });
  assert.equal(toKilnError(io).code, 'IO');
  assert.equal(toKilnError(new Error('x')).code, 'INTERNAL');
  const k = new KilnError('USAGE', 'bad');
  assert.equal(toKilnError(k), k);
});

test('shortenText keeps normal texts whole and cuts a huge one to its start, saying how much was cut', () => {
  const normal = 'apt-get update && apt-get install -y ' + 'pkg '.repeat(500);
  assert.equal(shortenText(normal), normal);
  const huge = 'echo ' + 'y'.repeat(5_000_000);
  assert.equal(shortenText(huge), `${huge.slice(0, SHOWN_TEXT_MAX)}... [${huge.length - SHOWN_TEXT_MAX} more characters]`);
  assert.equal(shortenText('ab😀', 3), 'ab... [2 more characters]', 'no half surrogate pair');
});

test('formatError shows a huge Dockerfile line shortened', () => {
  const line = 'RUN echo ' + 'y'.repeat(1_000_000);
  const e = new KilnError('RUN_FAILED', 'failed', { location: [{ file: 'Dockerfile', startLine: 2, endLine: 2 }], sourceLines: ['FROM busybox', line] });
  const s = formatError(e);
  assert.ok(s.length < 2 * SHOWN_TEXT_MAX, `${s.length} characters`);
  assert.match(s, / 2 \| >>> RUN echo y+\.\.\. \[\d+ more characters\]\n/);
});
