import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareLayerPaths, sortChanges } from './changes.js';

test('layer order is depth-first with a directory before its contents', () => {
  const paths = ['a.txt', 'a/b', 'a', 'b', 'a/b/c', 'a-z', 'a/a'];
  assert.deepEqual([...paths].sort(compareLayerPaths), ['a', 'a/a', 'a/b', 'a/b/c', 'a-z', 'a.txt', 'b']);
});

test('sortChanges validates the Change contract', () => {
  assert.deepEqual(sortChanges([{ kind: 'add', path: 'x/y' }, { kind: 'modify', path: 'x' }]).map((c) => c.path), ['x', 'x/y']);
  for (const path of ['', '/abs', 'a/../b', './a', 'a/', 'a//b']) {
    assert.throws(() => sortChanges([{ kind: 'add', path }]), { code: 'INTERNAL' }, path);
  }
  assert.throws(() => sortChanges([{ kind: 'delete', path: 'd', opaque: true }]), /cannot be opaque/);
  assert.throws(() => sortChanges([{ kind: 'add', path: 'd' }, { kind: 'modify', path: 'd' }]), /twice/);
});
