import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KilnError, formatError, toKilnError } from './errors.js';

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
