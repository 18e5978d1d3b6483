// File outputs (-o type=tar|docker|oci,dest=PATH): written atomically to a regular file, written
// through to a device or FIFO (never replacing it), through a symlink to the file it names; a
// directory or an impossible place is a clear error, never a hang.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { makeDirs } from '../support/index.js';
import { writeStreamAtomic } from './output.js';
import { needRoot } from '../../test/helpers/prereq.js';

const data = (s: string) => Readable.from([Buffer.from(s)]);

test('writeStreamAtomic: regular files, symlinks, devices and FIFOs as buildx writes them', async (t) => {
  if (!needRoot(t)) return; // mknod
  const dir = mkdtempSync(join(tmpdir(), 'kiln-output-'));
  try {
    // a regular file is replaced whole; a new one is created with its parents
    writeFileSync(join(dir, 'out.tar'), 'old');
    await writeStreamAtomic(join(dir, 'out.tar'), data('new'));
    assert.equal(readFileSync(join(dir, 'out.tar'), 'utf8'), 'new');
    await writeStreamAtomic(join(dir, 'a', 'b', 'new.tar'), data('made'));
    assert.equal(readFileSync(join(dir, 'a', 'b', 'new.tar'), 'utf8'), 'made');
    // a symlink stays a symlink: the file it names gets the output (also when it does not exist yet)
    writeFileSync(join(dir, 'target'), 'old');
    symlinkSync('target', join(dir, 'link'));
    await writeStreamAtomic(join(dir, 'link'), data('through'));
    assert.equal(readlinkSync(join(dir, 'link')), 'target');
    assert.equal(readFileSync(join(dir, 'target'), 'utf8'), 'through');
    symlinkSync('later', join(dir, 'dangling'));
    await writeStreamAtomic(join(dir, 'dangling'), data('created'));
    assert.ok(lstatSync(join(dir, 'dangling')).isSymbolicLink());
    assert.equal(readFileSync(join(dir, 'later'), 'utf8'), 'created');
    // a character device (a private /dev/null) is written to, not replaced
    assert.equal(spawnSync('mknod', ['-m', '666', join(dir, 'null'), 'c', '1', '3']).status, 0);
    await writeStreamAtomic(join(dir, 'null'), data('gone'));
    assert.ok(lstatSync(join(dir, 'null')).isCharacterDevice());
    // a FIFO: its reader gets the bytes
    assert.equal(spawnSync('mkfifo', [join(dir, 'fifo')]).status, 0);
    const reader = spawn('cat', [join(dir, 'fifo')]);
    let got = '';
    reader.stdout.on('data', (b: Buffer) => (got += b.toString()));
    const closed = new Promise((r) => reader.on('close', r));
    await writeStreamAtomic(join(dir, 'fifo'), data('piped'));
    await closed;
    assert.equal(got, 'piped');
    assert.ok(lstatSync(join(dir, 'fifo')).isFIFO());
    // a directory, or a place where no directory can be made (/proc): errors, not a hang
    await assert.rejects(writeStreamAtomic(dir, data('x')), /is a directory/);
    await assert.rejects(writeStreamAtomic('/proc/kiln-no-such/x.tar', data('x')), /cannot create the directory for/);
    assert.throws(() => makeDirs('/proc/kiln-no-such/deeper'), /ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
