import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandFailedError, Tail, liveChildPids, output, spawn } from './process.js';

test('spawn streams stdout/stderr, passes argv without a shell, uses the given env and cwd', async () => {
  const out: string[] = [];
  const err: string[] = [];
  const r = await spawn('/bin/sh', ['-c', 'echo "$1|$FOO|$(pwd)"; echo e >&2; exit 4', 'sh', '$(not expanded) ;'], {
    env: { FOO: 'bar', PATH: '/usr/bin:/bin' },
    cwd: '/tmp',
    onStdout: (b) => out.push(b.toString()),
    onStderr: (b) => err.push(b.toString()),
  });
  assert.equal(r.code, 4);
  assert.equal(r.signal, null);
  assert.equal(r.aborted, false);
  assert.equal(out.join(''), '$(not expanded) ;|bar|/tmp\n');
  assert.equal(err.join(''), 'e\n');
  assert.equal(r.stderrTail, 'e\n');
  assert.equal(r.outputTail.split('\n').sort().join(','), ',$(not expanded) ;|bar|/tmp,e');
});

test('spawn feeds input and rejects when the command cannot start', async () => {
  assert.equal(await output('cat', [], { input: 'piped' }), 'piped');
  await assert.rejects(spawn('/nonexistent/cmd', []), /ENOENT/);
});

test('the tail keeps the last lines and bytes only', async () => {
  const r = await spawn('/bin/sh', ['-c', 'i=0; while [ $i -lt 500 ]; do echo line$i; i=$((i+1)); done'], { tailLines: 5 });
  assert.equal(r.stdoutTail, 'line495\nline496\nline497\nline498\nline499\n');
  const t = new Tail(10, 100);
  t.push(Buffer.from('aaaa\nbbbb\ncccc\ndddd\n'));
  assert.equal(t.text(), 'dddd\n');
});

test('abort sends SIGTERM, then SIGKILL after the grace period; pids are tracked while running', async () => {
  const ac = new AbortController();
  const p = spawn('/bin/sh', ['-c', 'trap "" TERM; echo up; while :; do sleep 0.05; done'], {
    signal: ac.signal,
    killGraceMs: 200,
    onStdout: () => ac.abort(),
  });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(liveChildPids().length >= 1, true);
  const t0 = Date.now();
  const r = await p;
  assert.equal(r.aborted, true);
  assert.equal(r.signal, 'SIGKILL');
  assert.ok(Date.now() - t0 >= 150);
  assert.deepEqual(liveChildPids(), []);
});

test('output throws CommandFailedError with the stderr tail', async () => {
  await assert.rejects(output('/bin/sh', ['-c', 'echo nope >&2; exit 2']), (e: unknown) => {
    assert.ok(e instanceof CommandFailedError);
    assert.equal(e.result.code, 2);
    assert.match(e.message, /exit code 2.*nope/);
    return true;
  });
});
