import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KeyInputs } from './cache.js';
import { formatDecisions, missReason, shortRef } from './explain.js';

const base: KeyInputs = { parent: 'p1', definition: 'd1' };

test('missReason names the first input that changed, in plain words', () => {
  assert.equal(missReason(undefined, base, false), 'no previous build');
  const img = (d: string): KeyInputs => ({ ...base, base: `docker.io/library/node:20@sha256:${d}` });
  assert.equal(missReason(img('aa'), { ...img('bb'), parent: 'p2' }, false), 'base image node:20 now resolves to sha256:bb');
  assert.equal(missReason({ ...base, base: 'docker.io/library/node:18@sha256:aa' }, img('bb'), false), 'base image changed to node:20 (sha256:bb)');
  assert.equal(missReason(base, { ...base, parent: 'p2' }, true), 'parent step re-ran');
  assert.equal(missReason(base, { ...base, parent: 'p2' }, false), 'parent step changed');
  assert.equal(missReason({ ...base, buildArgs: { NODE_ENV: 'dev' } }, { ...base, definition: 'd2', buildArgs: { NODE_ENV: 'prod' } }, false), 'build arg NODE_ENV changed');
  assert.equal(missReason({ ...base, buildArgs: {} }, { ...base, definition: 'd2', buildArgs: { X: '1' } }, false), 'build arg X set');
  assert.equal(missReason(base, { ...base, definition: 'd2' }, false), 'instruction changed');
  const files = (f: Record<string, string>, c: string): KeyInputs => ({ ...base, content: c, files: f });
  assert.equal(missReason(files({ 'package.json': '644:a', 'package-lock.json': '644:b' }, 'c1'), files({ 'package.json': '644:a', 'package-lock.json': '644:c' }, 'c2'), false), 'package-lock.json changed');
  assert.equal(missReason(files({ a: '644:a' }, 'c1'), files({ a: '644:a', b: '644:b' }, 'c2'), false), 'b was added');
  assert.equal(missReason(files({ a: '644:a', b: '644:b' }, 'c1'), files({ a: '644:a' }, 'c2'), false), 'b was removed');
  assert.equal(missReason(files({ a: '644:a' }, 'c1'), files({ a: '644:a' }, 'c2'), false), 'files read from the context changed (directories, links or metadata)');
  const src = (d: string, f: Record<string, string>): KeyInputs => ({ ...base, sources: { 'stage builder': d }, sourceFiles: { 'stage builder': f } });
  assert.equal(missReason(src('x', { 'app/dist/main.js': 'a' }), src('y', { 'app/dist/main.js': 'b' }), false), 'app/dist/main.js in stage builder changed');
  assert.equal(missReason(base, base, false), 'cached result was removed (pruned)');
});

test('shortRef drops docker.io/library/; formatDecisions shows inputs and stat-cache counts', () => {
  assert.equal(shortRef('docker.io/library/node:20'), 'node:20');
  assert.equal(shortRef('docker.io/me/app:1'), 'me/app:1');
  assert.equal(shortRef('ghcr.io/x/y:1'), 'ghcr.io/x/y:1');
  const text = formatDecisions([
    { stage: 'b', pos: '2/3', display: 'COPY . .', key: 'k'.repeat(64), cached: false, reason: 'a.txt changed', inputs: { parent: 'p'.repeat(64), definition: 'd'.repeat(64), content: `sha256:${'c'.repeat(64)}`, files: { 'a.txt': '644:x' } }, contextFiles: { hashed: 3, read: 1 } },
  ]);
  assert.equal(text, ['cache decisions:', '[b 2/3] COPY . .', '  ran: a.txt changed', `  key ${'k'.repeat(16)}  parent ${'p'.repeat(16)}  definition ${'d'.repeat(16)}`, `  context sha256:${'c'.repeat(16)} (1 file, 1 read, 2 from the stat cache)`, ''].join('\n'));
});
