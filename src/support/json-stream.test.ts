import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeJson } from './json-stream.js';

const streamed = (v: unknown): string => {
  const parts: string[] = [];
  writeJson(v, (s) => parts.push(s));
  return parts.join('');
};

test('writeJson writes what JSON.stringify(v, null, 2) returns', () => {
  const values: unknown[] = [
    null, 0, -1.5, 'a"b\n\u2028', true, [], {}, [[]], [{}], { a: [] },
    { a: 1, b: undefined, c: () => 1, d: Symbol('x'), e: null, f: [undefined, () => 1, 2] },
    { nested: { deep: [1, { x: 'y' }, [3, [4]]] }, 'key "q"': 'v' },
    { date: new Date(0), withToJSON: { toJSON: (k: string) => `k=${k}` } },
    [new Date(86_400_000)],
    Object.assign(Object.create({ inherited: 1 }), { own: 2 }),
  ];
  for (const v of values) assert.equal(streamed(v), JSON.stringify(v, null, 2), JSON.stringify(v));
  // random trees
  let seed = 7;
  const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  const tree = (d: number): unknown => {
    const k = rnd(d > 3 ? 4 : 7);
    if (k === 0) return rnd(1000) - 500;
    if (k === 1) return `s${rnd(100)}`;
    if (k === 2) return rnd(2) === 0 ? null : undefined;
    if (k === 3) return rnd(2) === 0;
    if (k === 4) return Array.from({ length: rnd(4) }, () => tree(d + 1));
    return Object.fromEntries(Array.from({ length: rnd(4) }, (_, i) => [`k${i}`, tree(d + 1)]));
  };
  for (let i = 0; i < 500; i++) {
    const v = tree(0);
    assert.equal(streamed(v), JSON.stringify(v, null, 2) ?? '', JSON.stringify(v));
  }
});

test('writeJson writes in bounded pieces, so an output past V8\'s longest string still works', () => {
  const big = { items: Array.from({ length: 20_000 }, (_, i) => `item-${i}`) };
  const parts: string[] = [];
  writeJson(big, (s) => parts.push(s));
  assert.ok(parts.length > 1);
  assert.ok(parts.every((p) => p.length < 65536 + 100), 'pieces stay near 64 KiB');
  assert.equal(parts.join(''), JSON.stringify(big, null, 2));
});
