import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { ContextStatCache } from './stat-cache.js';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

test('stat cache: unchanged files are not read again; a stat change (size, mode, mtime) re-reads; fresh files are not trusted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-statcache-'));
  try {
    const state = join(dir, 'state');
    const ctx = join(dir, 'ctx');
    const f = join(dir, 'ctx-a');
    writeFileSync(f, 'hello');
    const old = new Date(Date.now() - 60_000);
    utimesSync(f, old, old);
    // ctime is "now" after utimes: the entry is racy until a second has passed, so fake an older clock
    const c1 = new ContextStatCache(state, ctx);
    const realNow = Date.now;
    Date.now = () => realNow() + 5_000;
    let c2: ContextStatCache;
    try {
      const d1 = c1.digester();
      assert.equal(d1(f, lstatSync(f, { bigint: true })), sha('hello'));
      assert.deepEqual(c1.counters, { reads: 1, hits: 0 });
      c1.save();
      c2 = new ContextStatCache(state, ctx);
      assert.equal(c2.digester()(f, lstatSync(f, { bigint: true })), sha('hello'));
      assert.deepEqual(c2.counters, { reads: 0, hits: 1 });
      chmodSync(f, 0o600);
      assert.equal(c2.digester()(f, lstatSync(f, { bigint: true })), sha('hello'));
      assert.deepEqual(c2.counters, { reads: 1, hits: 1 }, 'a mode change re-reads');
      writeFileSync(f, 'HELLO');
      assert.equal(c2.digester()(f, lstatSync(f, { bigint: true })), sha('HELLO'));
      assert.equal(c2.counters.reads, 2);
    } finally {
      Date.now = realNow;
    }
    // without the clock shift the file just written is "racy": read every time, never remembered
    const c3 = new ContextStatCache(join(dir, 'state2'), ctx);
    writeFileSync(f, 'fresh');
    c3.digester()(f, lstatSync(f, { bigint: true }));
    c3.digester()(f, lstatSync(f, { bigint: true }));
    assert.deepEqual(c3.counters, { reads: 2, hits: 0 });
    // a known file edited just now: read, and its stale entry (which cannot match) is left, so
    // the table is not rewritten
    c2.save();
    const table = join(state, 'context-hash', readdirSync(join(state, 'context-hash'))[0]!);
    const before = readFileSync(table, 'utf8');
    const c4 = new ContextStatCache(state, ctx);
    writeFileSync(f, 'edited');
    assert.equal(c4.digester()(f, lstatSync(f, { bigint: true })), sha('edited'));
    assert.deepEqual(c4.counters, { reads: 1, hits: 0 });
    c4.save();
    assert.equal(readFileSync(table, 'utf8'), before, 'not rewritten');
    const c5 = new ContextStatCache(state, ctx);
    assert.equal(c5.digester()(f, lstatSync(f, { bigint: true })), sha('edited'), 'the stale entry does not match');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stat cache: entries of deleted files are dropped on save, entries of files another build read are kept', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-statcache-'));
  const realNow = Date.now;
  Date.now = () => realNow() + 5_000;
  try {
    const ctx = join(dir, 'ctx');
    mkdirSync(ctx);
    for (const n of ['a', 'b', 'c']) writeFileSync(join(ctx, n), n);
    const c1 = new ContextStatCache(join(dir, 'state'), ctx);
    for (const n of ['a', 'b', 'c']) c1.digester()(join(ctx, n), lstatSync(join(ctx, n), { bigint: true }));
    c1.save();
    rmSync(join(ctx, 'b'));
    const c2 = new ContextStatCache(join(dir, 'state'), ctx);
    c2.digester()(join(ctx, 'a'), lstatSync(join(ctx, 'a'), { bigint: true }));
    c2.save();
    const file = readdirSync(join(dir, 'state', 'context-hash'))[0]!;
    const table = JSON.parse(readFileSync(join(dir, 'state', 'context-hash', file), 'utf8')) as { files: Record<string, unknown> };
    assert.deepEqual(Object.keys(table.files).sort(), ['a', 'c']);
  } finally {
    Date.now = realNow;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stat cache: the table survives save/load with changes on top; files gone are forgotten; a file named __proto__ is kept', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-statcache-'));
  try {
    const state = join(dir, 'state');
    const ctx = join(dir, 'ctx');
    mkdirSync(ctx);
    const old = new Date(Date.now() - 60_000);
    for (const n of ['a', 'b', '__proto__']) {
      writeFileSync(join(ctx, n), `content ${n}`);
      utimesSync(join(ctx, n), old, old);
    }
    const realNow = Date.now;
    Date.now = () => realNow() + 5_000;
    try {
      const st = (n: string) => lstatSync(join(ctx, n), { bigint: true });
      const c1 = new ContextStatCache(state, ctx);
      for (const n of ['a', 'b', '__proto__']) c1.digester()(join(ctx, n), st(n));
      c1.save();
      const file = join(state, 'context-hash', readdirSync(join(state, 'context-hash'))[0]!);
      const keys = (): string[] => Object.keys((JSON.parse(readFileSync(file, 'utf8')) as { files: object }).files).sort();
      assert.deepEqual(keys(), ['__proto__', 'a', 'b']);
      // second build: a changes, b is deleted, __proto__ untouched
      writeFileSync(join(ctx, 'a'), 'changed a');
      utimesSync(join(ctx, 'a'), old, new Date(realNow() - 30_000));
      rmSync(join(ctx, 'b'));
      const c2 = new ContextStatCache(state, ctx);
      assert.equal(c2.digester()(join(ctx, 'a'), st('a')), sha('changed a'));
      assert.equal(c2.digester()(join(ctx, '__proto__'), st('__proto__')), sha('content __proto__'));
      assert.deepEqual(c2.counters, { reads: 1, hits: 1 });
      c2.save();
      assert.deepEqual(keys(), ['__proto__', 'a'], 'b is forgotten');
      const c3 = new ContextStatCache(state, ctx);
      assert.equal(c3.digester()(join(ctx, 'a'), st('a')), sha('changed a'));
      assert.deepEqual(c3.counters, { reads: 0, hits: 1 }, 'the changed entry was saved');
    } finally {
      Date.now = realNow;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
