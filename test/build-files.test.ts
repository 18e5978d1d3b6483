// The Dockerfile and .dockerignore as kiln reads them (cli/commands/build-flags.ts): a symlink
// that leads out of its directory is refused before a byte is read (BuildKit reads both through a
// source rooted there, so docker build does not follow it either), so a parse error can never
// print the target's lines; a link inside the directory works; odd files get clear errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runKiln } from './helpers/cli.js';

function withDir(fn: (dir: string, root: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-build-files-'));
    try {
      mkdirSync(join(dir, 'ctx'));
      await fn(join(dir, 'ctx'), join(dir, 'root'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

const build = (ctx: string, root: string) => runKiln(['build', '--progress', 'plain', ctx], { env: { KILN_ROOT: root } });

test('a Dockerfile that links out of its directory is refused unread', withDir(async (ctx, root) => {
  const secret = join(ctx, '..', 'secret.txt');
  writeFileSync(secret, 'TOP-SECRET-LINE\n');
  symlinkSync(secret, join(ctx, 'Dockerfile'));
  const r = await build(ctx, root);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /failed to read dockerfile: .*Dockerfile is a symlink to .*secret\.txt, outside /);
  assert.doesNotMatch(r.stderr + r.stdout, /TOP-SECRET-LINE/, 'the target was never shown');
}));

test('a .dockerignore that links out of the context is refused; one that links inside works', withDir(async (ctx, root) => {
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\n');
  writeFileSync(join(ctx, '..', 'outside-ignore'), 'TOP-SECRET-PATTERN\n');
  symlinkSync(join(ctx, '..', 'outside-ignore'), join(ctx, '.dockerignore'));
  const r = await build(ctx, root);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /failed to read \.dockerignore: .*\.dockerignore is a symlink to .*outside-ignore, outside /);
  assert.doesNotMatch(r.stderr, /TOP-SECRET-PATTERN/);
  rmSync(join(ctx, '.dockerignore'));
  writeFileSync(join(ctx, 'ignore-patterns'), 'nothing\n');
  symlinkSync('ignore-patterns', join(ctx, '.dockerignore'));
  const ok = await build(ctx, root);
  assert.equal(ok.code, 0, ok.stderr);
}));

test('a .dockerignore that is a directory, or a link loop, is a clear error', withDir(async (ctx, root) => {
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\n');
  mkdirSync(join(ctx, '.dockerignore'));
  const dir = await build(ctx, root);
  assert.equal(dir.code, 1, dir.stderr);
  assert.match(dir.stderr, /failed to read .*\.dockerignore: is a directory/);
  rmSync(join(ctx, '.dockerignore'), { recursive: true });
  symlinkSync('loop-b', join(ctx, '.dockerignore'));
  symlinkSync('.dockerignore', join(ctx, 'loop-b'));
  const loop = await build(ctx, root);
  assert.equal(loop.code, 1, loop.stderr);
  assert.match(loop.stderr, /too many levels of symbolic links/);
  assert.doesNotMatch(loop.stderr, /    at /);
}));

test('-f /dev/zero, -f - fed /dev/zero, or a Dockerfile over 16 MiB is refused before it fills memory; a FIFO is read to its end', withDir(async (ctx, root) => {
  const zero = await runKiln(['build', '-f', '/dev/zero', ctx], { env: { KILN_ROOT: root }, timeoutMs: 60_000 });
  assert.equal(zero.code, 125, zero.stderr);
  assert.match(zero.stderr, /failed to read dockerfile: \/dev\/zero is larger than 16 MiB/);
  // the same limit on stdin (it was read whole: 16 GB, then a crash)
  const piped = await runKiln(['build', '-f', '-', ctx], { env: { KILN_ROOT: root }, timeoutMs: 60_000, input: Buffer.alloc(17 << 20) });
  assert.equal(piped.code, 125, piped.stderr);
  assert.match(piped.stderr, /failed to read dockerfile: stdin is larger than 16 MiB/);
  // a sparse file: its size alone is refused, nothing is read
  const big = join(ctx, 'Big.Dockerfile');
  writeFileSync(big, '');
  truncateSync(big, 300 * 1024 * 1024);
  const huge = await runKiln(['build', '-f', big, ctx], { env: { KILN_ROOT: root } });
  assert.equal(huge.code, 125, huge.stderr);
  assert.match(huge.stderr, /Big\.Dockerfile is larger than 16 MiB/);
  // a FIFO: read as a stream, then parsed (an empty Dockerfile error proves it was read)
  const fifo = join(ctx, 'Fifo.Dockerfile');
  execFileSync('mkfifo', [fifo]);
  const writer = spawn('sh', ['-c', `printf '# only a comment\\n' > '${fifo}'`]);
  const r = await runKiln(['build', '-f', fifo, ctx], { env: { KILN_ROOT: root }, timeoutMs: 60_000 });
  writer.kill();
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /Fifo\.Dockerfile:1: file with no instructions/);
}));

test('a .dockerignore that is a FIFO or over 16 MiB is refused at once, not waited on or read', withDir(async (ctx, root) => {
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\n');
  // opening a FIFO for reading waits for a writer: nobody ever writes this one
  execFileSync('mkfifo', [join(ctx, '.dockerignore')]);
  const fifo = await runKiln(['build', '--progress', 'plain', ctx], { env: { KILN_ROOT: root }, timeoutMs: 30_000 });
  assert.equal(fifo.code, 1, fifo.stderr);
  assert.match(fifo.stderr, /failed to read .*\.dockerignore: is not a regular file \(a FIFO\)/);
  rmSync(join(ctx, '.dockerignore'));
  // Dockerfile.dockerignore next to the Dockerfile is read the same way
  writeFileSync(join(ctx, 'Dockerfile.dockerignore'), '');
  truncateSync(join(ctx, 'Dockerfile.dockerignore'), 300 * 1024 * 1024);
  const big = await build(ctx, root);
  assert.equal(big.code, 1, big.stderr);
  assert.match(big.stderr, /failed to read .*Dockerfile\.dockerignore: larger than 16 MiB/);
}));
