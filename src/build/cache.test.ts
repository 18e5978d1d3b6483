import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuildCache, type KeyInputs } from './cache.js';

test('BuildCache: big key inputs sit beside the record, read only when asked for', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-cache-'));
  try {
    const cache = new BuildCache(dir);
    const files: Record<string, string> = {};
    for (let i = 0; i < 2000; i++) files[`assets/f${i}`] = `644:${'a'.repeat(64)}`;
    const big: KeyInputs = { parent: 'p', definition: 'd', content: 'sha256:c', files };
    cache.put('k', { snapshot: 's1', inputs: big, created: 't' });
    const apart = join(dir, 'cache', 'k.inputs');
    assert.ok(existsSync(apart), 'big inputs are written apart');
    assert.deepEqual(cache.get('k'), { snapshot: 's1', inputs: big, created: 't' });
    assert.deepEqual(JSON.parse(JSON.stringify(cache.get('k'))), { snapshot: 's1', inputs: big, created: 't' });

    // a hit reads the record alone: without the inputs file it still answers, inputs undefined
    rmSync(apart);
    const rec = cache.get('k');
    assert.equal(rec?.snapshot, 's1');
    assert.equal(rec?.inputs, undefined);

    // small inputs stay inline, and replace (remove) inputs written apart before
    cache.put('k', { snapshot: 's1', inputs: big, created: 't' });
    cache.put('k', { snapshot: 's2', inputs: { parent: 'p', definition: 'd' }, created: 't2' });
    assert.equal(existsSync(apart), false);
    assert.deepEqual(cache.get('k'), { snapshot: 's2', inputs: { parent: 'p', definition: 'd' }, created: 't2' });

    // removing a record removes both; names() lists records only
    cache.put('k2', { snapshot: 's3', inputs: big, created: 't' });
    assert.deepEqual(cache.names().sort(), ['k', 'k2']);
    cache.remove('k2');
    assert.equal(existsSync(join(dir, 'cache', 'k2.inputs')), false);
    assert.equal(cache.get('k2'), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
