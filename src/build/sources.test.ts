import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReadOnlyView, SnapshotId } from '../snapshot/index.js';
import { StepViews } from './sources.js';

test('StepViews opens one view per snapshot, also for concurrent opens, and releases each once', async () => {
  const made: string[] = [];
  const released: string[] = [];
  const make = (snap: string) => async (): Promise<ReadOnlyView> => {
    made.push(snap);
    return { path: `/views/${snap}`, release: async () => void released.push(snap) };
  };
  const views = new StepViews();
  const [a1, a2] = await Promise.all([views.open('a' as SnapshotId, make('a')), views.open('a' as SnapshotId, make('a'))]);
  const b = await views.open('b' as SnapshotId, make('b'));
  assert.equal(a1, a2);
  assert.equal((await views.open('a' as SnapshotId, make('a'))).path, '/views/a');
  assert.equal(b.path, '/views/b');
  assert.deepEqual(made, ['a', 'b']);
  // a view that failed to open has nothing to release, and does not stop the others
  await assert.rejects(views.open('c' as SnapshotId, () => Promise.reject(new Error('mount failed'))));
  await views.releaseAll();
  assert.deepEqual(released.sort(), ['a', 'b']);
  await views.releaseAll();
  assert.deepEqual(released.sort(), ['a', 'b'], 'released once');
});
