import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { ContextStatCache } from './stat-cache.js';
import { setAttributeSync } from 'fs-xattr';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

/** The live paths of the table on disk: the JSON table with its change log replayed. */
function storedKeys(state: string): string[] {
  const dir = join(state, 'context-hash');
  const name = readdirSync(dir).find((n) => n.endsWith('.json') || n.endsWith('.json.log'))!.replace(/\.log$/, '');
  const files: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  try {
    Object.assign(files, (JSON.parse(readFileSync(join(dir, name), 'utf8')) as { files: object }).files);
  } catch {
    /* only a log so far */
  }
  try {
    for (const line of readFileSync(join(dir, `${name}.log`), 'utf8').split('\n')) {
      if (line === '') continue;
      const [k, v] = JSON.parse(line) as [string, unknown];
      if (v === null) delete files[k];
      else files[k] = v;
    }
  } catch {
    /* no log */
  }
  return Object.keys(files).sort();
}

/** The table's files on disk, as bytes (to see whether a save wrote anything). */
function storedBytes(state: string): string {
  const dir = join(state, 'context-hash');
  return readdirSync(dir).sort().map((n) => readFileSync(join(dir, n), 'utf8')).join('\0');
}

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
    const before = storedBytes(state);
    const c4 = new ContextStatCache(state, ctx);
    writeFileSync(f, 'edited');
    assert.equal(c4.digester()(f, lstatSync(f, { bigint: true })), sha('edited'));
    assert.deepEqual(c4.counters, { reads: 1, hits: 0 });
    c4.save();
    assert.equal(storedBytes(state), before, 'not rewritten');
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
    assert.deepEqual(storedKeys(join(dir, 'state')), ['a', 'c']);
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
      const keys = (): string[] => storedKeys(state);
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

test('stat cache: a few changes are appended to a log, many fold it into the table; a torn line is skipped', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-statcache-'));
  const realNow = Date.now;
  Date.now = () => realNow() + 5_000;
  try {
    const state = join(dir, 'state');
    const ctx = join(dir, 'ctx');
    mkdirSync(ctx);
    const n = 2500;
    for (let i = 0; i < n; i++) writeFileSync(join(ctx, `f${i}`), `content ${i}`);
    const hashAll = (c: ContextStatCache): void => {
      for (let i = 0; i < n; i++) c.digester()(join(ctx, `f${i}`), lstatSync(join(ctx, `f${i}`), { bigint: true }));
    };
    const c1 = new ContextStatCache(state, ctx);
    hashAll(c1);
    c1.save();
    const hashDir = join(state, 'context-hash');
    const table = readdirSync(hashDir).find((f) => f.endsWith('.json'))!;
    assert.deepEqual(readdirSync(hashDir), [table], 'the first save writes the whole table (2500 entries > 2000)');
    const whole = readFileSync(join(hashDir, table), 'utf8');

    writeFileSync(join(ctx, 'f7'), 'changed');
    const c2 = new ContextStatCache(state, ctx);
    hashAll(c2);
    assert.deepEqual(c2.counters, { reads: 1, hits: n - 1 });
    c2.save();
    assert.equal(readFileSync(join(hashDir, table), 'utf8'), whole, 'one change: the table is not rewritten');
    const log = readFileSync(join(hashDir, `${table}.log`), 'utf8');
    assert.equal(log.split('\n').filter(Boolean).length, 1);

    // a crash mid-append left half a line: skipped, the line before still counts
    writeFileSync(join(hashDir, `${table}.log`), log + '["f8",{"s":"1:2');
    const c3 = new ContextStatCache(state, ctx);
    hashAll(c3);
    assert.deepEqual(c3.counters, { reads: 0, hits: n }, 'f7 comes from the log');

    // many changes: the log is folded into the table and removed
    for (let i = 0; i < n; i++) writeFileSync(join(ctx, `f${i}`), `new ${i}`);
    const c4 = new ContextStatCache(state, ctx);
    hashAll(c4);
    c4.save();
    assert.deepEqual(readdirSync(hashDir), [table]);
    const c5 = new ContextStatCache(state, ctx);
    hashAll(c5);
    assert.deepEqual(c5.counters, { reads: 0, hits: n });
  } finally {
    Date.now = realNow;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a context file whose xattrs changed gets another digest (COPY copies them)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-statx-'));
  try {
    const ctx = join(dir, 'ctx');
    mkdirSync(ctx);
    const f = join(ctx, 'f');
    writeFileSync(f, 'hello');
    const c = new ContextStatCache(join(dir, 'state'), ctx);
    const plain = c.digester()(f, lstatSync(f, { bigint: true }));
    assert.equal(plain, createHash('sha256').update('hello').digest('hex'), 'no xattrs: the content digest alone');
    setAttributeSync(f, 'user.kiln', Buffer.from('v1'));
    const one = c.digester()(f, lstatSync(f, { bigint: true })); // the ctime moved: not a stat-cache hit
    setAttributeSync(f, 'user.kiln', Buffer.from('v2'));
    const two = c.digester()(f, lstatSync(f, { bigint: true }));
    assert.notEqual(one, plain);
    assert.notEqual(two, one);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
