import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TreeRecords } from './tree-records.js';

const files = (n: number): Map<string, string> => new Map(Array.from({ length: n }, (_, i) => [`d/f${i}`, `644:${i}`]));

test('tree records: a record answers only for its signature, big ones in files of their own, small ones shared', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-trees-'));
  try {
    const base = join(dir, 'ctx');
    const t = new TreeRecords(base);
    t.put('big1', 'sigA', 'sha256:a', files(300), true);
    t.put('small1', 'sigB', 'sha256:b', files(2), false);
    assert.ok(existsSync(`${base}.tree-big1.json`));
    assert.equal(existsSync(`${base}.small.json`), false, 'small records are written by save()');
    t.save();

    const u = new TreeRecords(base); // a later build
    assert.equal(u.get('big1', 'sigA', true)?.digest, 'sha256:a');
    assert.equal(Object.keys(u.get('big1', 'sigA', true)!.files).length, 300);
    assert.equal(u.get('big1', 'sigX', true), undefined, 'another signature: no answer');
    assert.equal(u.get('small1', 'sigB', false)?.digest, 'sha256:b');
    assert.deepEqual(u.get('small1', 'sigB', false)?.files, { 'd/f0': '644:0', 'd/f1': '644:1' });
    assert.equal(u.get('small1', 'sigX', false), undefined);
    assert.equal(u.get('nope', 'sigB', false), undefined);

    // broken files are misses, not errors
    writeFileSync(`${base}.tree-big1.json`, '{"v":1,"sig":"sigA","digest":"sha256:a"}\n{broken');
    writeFileSync(`${base}.small.json`, 'not json');
    const w = new TreeRecords(base);
    assert.equal(w.get('big1', 'sigA', true), undefined);
    assert.equal(w.get('small1', 'sigB', false), undefined);

    // at most 16 big records: the least recently used go
    for (let i = 0; i < 20; i++) w.put(`b${i}`, 's', 'd', files(1), true);
    assert.equal(readdirSync(dir).filter((n) => n.includes('.tree-')).length, 16);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
