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

test('--output: the attributes kiln implements pass; any other fails loudly, never dropped', async () => {
  const { checkOutput, outputSpec } = await import('./build-flags.js');
  const ok = ['type=local,dest=out', 'out-dir', 'type=image', 'type=image,name=foo/bar:1,push=false', 'type=docker,dest=x.tar,name=foo:3', 'type=oci,dest=x.tar,tar=true,compression=gzip,oci-mediatypes=true'];
  for (const s of ok) assert.doesNotThrow(() => checkOutput(outputSpec(s)), s);
  const refused: Array<[string, RegExp]> = [
    ['type=local,dest=out,foo=bar', /--output type=local foo=… is not supported/],
    ['type=oci,dest=x.tar,tar=false', /--output type=oci tar=false is not supported/],
    ['type=oci,dest=x.tar,compression=zstd', /compression=zstd is not supported/],
    ['type=image,unpack=true', /type=image unpack=… is not supported/],
    ['type=tar,dest=x', /--output type=tar is not supported/],
    ['type=registry', /--output type=registry is not supported/],
  ];
  for (const [s, re] of refused) assert.throws(() => checkOutput(outputSpec(s)), (e: unknown) => e instanceof Error && 'code' in e && e.code === 'NOT_IMPLEMENTED' && re.test(e.message), s);
  assert.throws(() => checkOutput(outputSpec('type=docker,name=x')), /needs dest=/);
  assert.throws(() => checkOutput(outputSpec(`type=image,name=a@sha256:${'0'.repeat(64)}`)), /refusing to create a tag with a digest reference/);
});
