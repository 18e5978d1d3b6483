import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizePullFlag, parsePullMode } from './build.js';

test('--pull as docker build and buildx take it: bare (= always), a mode, or a boolean', () => {
  assert.deepEqual(normalizePullFlag(['build', '--pull', '.']), ['build', '--pull=always', '.']);
  assert.deepEqual(normalizePullFlag(['build', '--pull', '-t', 'x', '.']), ['build', '--pull=always', '-t', 'x', '.']);
  assert.deepEqual(normalizePullFlag(['build', '.', '--pull']), ['build', '.', '--pull=always']);
  assert.deepEqual(normalizePullFlag(['build', '--pull', 'never', '.']), ['build', '--pull', 'never', '.']);
  assert.deepEqual(normalizePullFlag(['build', '--pull=missing', '.']), ['build', '--pull=missing', '.']);
  assert.deepEqual(normalizePullFlag(['build', '--', '--pull', 'x']), ['build', '--', '--pull', 'x']);
  assert.equal(parsePullMode(undefined), 'missing');
  assert.equal(parsePullMode(true), 'always');
  assert.equal(parsePullMode('true'), 'always');
  assert.equal(parsePullMode('false'), 'missing');
  assert.equal(parsePullMode('Never'), 'never');
  assert.throws(() => parsePullMode('sometimes'), /invalid --pull "sometimes"/);
});
