import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { KilnError } from '../../errors.js';
import { parseCacheFrom, parseCacheTo } from './cache-spec.js';

function fails(fn: () => unknown, code: string, re: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof KilnError && e.code === code && re.test(e.message));
}

test('--cache-to: registry and local, mode, ignore-error, defaults', () => {
  assert.deepEqual(parseCacheTo('type=registry,ref=r.example/app:cache,mode=max'), { location: { type: 'registry', ref: 'r.example/app:cache' }, mode: 'max', ignoreError: false });
  assert.deepEqual(parseCacheTo('r.example/app:cache'), { location: { type: 'registry', ref: 'r.example/app:cache' }, mode: 'min', ignoreError: false });
  assert.deepEqual(parseCacheTo('type=local,dest=out/cache,ignore-error=true'), { location: { type: 'local', dir: resolve('out/cache'), tag: 'latest' }, mode: 'min', ignoreError: true });
  assert.deepEqual(parseCacheTo('ref=r.example/app:c'), { location: { type: 'registry', ref: 'r.example/app:c' }, mode: 'min', ignoreError: false });
});

test('--cache-from: registry, local with tag, bare reference', () => {
  assert.deepEqual(parseCacheFrom('type=registry,ref=127.0.0.1:5000/c:main'), { type: 'registry', ref: '127.0.0.1:5000/c:main' });
  assert.deepEqual(parseCacheFrom('type=local,src=/tmp/c,tag=v2'), { type: 'local', dir: '/tmp/c', tag: 'v2' });
  assert.deepEqual(parseCacheFrom('app:cache'), { type: 'registry', ref: 'app:cache' });
});

test('bad specs: usage errors naming the problem; other backends NOT_IMPLEMENTED', () => {
  fails(() => parseCacheTo('type=gha'), 'NOT_IMPLEMENTED', /type=gha is not supported/);
  fails(() => parseCacheTo('type=inline'), 'NOT_IMPLEMENTED', /type=inline/);
  fails(() => parseCacheFrom('type=s3,bucket=b'), 'NOT_IMPLEMENTED', /type=s3/);
  fails(() => parseCacheFrom('type=tape'), 'USAGE', /unknown cache type "tape"/);
  fails(() => parseCacheTo('type=registry,ref=a/b:c,compression=zstd'), 'USAGE', /unknown key compression=/);
  fails(() => parseCacheFrom('type=registry,ref=a/b:c,mode=max'), 'USAGE', /unknown key mode=/);
  fails(() => parseCacheFrom('type=local,dest=/x'), 'USAGE', /unknown key dest=/);
  fails(() => parseCacheTo('type=local,src=/x'), 'USAGE', /unknown key src=/);
  fails(() => parseCacheTo('type=registry'), 'USAGE', /needs ref=/);
  fails(() => parseCacheTo('type=registry,ref=a/b:c,mode=full'), 'USAGE', /mode must be min or max/);
  fails(() => parseCacheTo('type=registry,ref=a/b:c,ignore-error=maybe'), 'USAGE', /ignore-error must be true or false/);
  fails(() => parseCacheTo('type=registry,ref=a,ref=b'), 'USAGE', /ref= given twice/);
  fails(() => parseCacheTo('type=registry,,ref=a'), 'USAGE', /expected key=value pairs/);
});
