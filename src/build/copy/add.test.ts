// ADD semantics on real temp trees: local tar archives extracted (compression from content),
// everything else copied; URLs downloaded from a local HTTP server on 127.0.0.1.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { KilnError } from '../../errors.js';
import { makeTempDir, removeTree } from '../../support/index.js';
import { describe as describeTree, makeTree } from '../../../test/helpers/copy-tree.js';
import { needCommand, needRoot } from '../../../test/helpers/prereq.js';
import { executeCopy, hashCopyInputs, type CopyRequest } from './index.js';

const base = makeTempDir('kiln-add-test-');
let server: Server;
let url = '';
const BODY = 'downloaded content\n';
const BODY_SHA = createHash('sha256').update(BODY).digest('hex');
let tarBytes: Buffer = Buffer.alloc(0);

before(async () => {
  server = createServer((req, res) => {
    if (req.url === '/files/tool.sh') {
      res.writeHead(200, { 'last-modified': 'Wed, 21 Oct 2015 07:28:00 GMT', 'content-type': 'text/plain' });
      res.end(BODY);
    } else if (req.url === '/') {
      res.end('root');
    } else if (req.url === '/a.tar') {
      res.end(tarBytes);
    } else {
      res.writeHead(404);
      res.end('no');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.close();
  removeTree(base);
});

let n = 0;
function setup(): { ctx: string; dest: string } {
  const dir = `${base}/${++n}`;
  const ctx = `${dir}/ctx`;
  const dest = `${dir}/rootfs`;
  mkdirSync(ctx, { recursive: true });
  mkdirSync(dest, { recursive: true });
  return { ctx, dest };
}

function req(ctx: string, dest: string, extra: Partial<CopyRequest> & { sources: string[]; dest: string }): CopyRequest {
  return { srcRoot: ctx, srcKind: 'context', inline: [], destRoot: dest, parents: false, excludes: [], link: false, add: {}, ...extra };
}

/** Makes `ctx/name` a tar of a small tree (owner 5:6), compressed with `compress` ('' = plain). */
function makeArchive(ctx: string, name: string, compress: '' | 'gzip' | 'bzip2' | 'xz' | 'zstd'): void {
  const src = `${ctx}/../tree-${name}`;
  makeTree(src, { 'top.txt': { content: 'T', mode: 0o600, mtime: 1_500_000_000 }, 'sub/': { mode: 0o711 }, 'sub/inner': 'I', 'ln': { link: 'top.txt' } });
  const tar = `${ctx}/../${name}.raw`;
  execFileSync('tar', ['--numeric-owner', '--owner=5', '--group=6', '-cf', tar, '-C', src, '.']);
  if (compress !== '') execFileSync(compress, compress === 'zstd' ? ['-q', '--rm', tar, '-o', `${tar}.c`] : [tar]);
  const produced = compress === '' ? tar : compress === 'zstd' ? `${tar}.c` : `${tar}.${compress === 'gzip' ? 'gz' : compress === 'bzip2' ? 'bz2' : 'xz'}`;
  renameSync(produced, `${ctx}/${name}`);
}

const EXTRACTED = ['x d 755 0:0', 'x/ln l 5:6 -> top.txt', 'x/sub d 711 5:6', 'x/sub/inner f 644 5:6 "I"', 'x/top.txt f 600 5:6 "T"'];

for (const c of ['', 'gzip', 'bzip2', 'xz', 'zstd'] as const) {
  test(`ADD extracts a ${c || 'plain'} tar archive (detected by content, not name) into dest`, async (t) => {
    if (c !== '' && !needCommand(t, c)) return;
    if (!needRoot(t)) return;
    const { ctx, dest } = setup();
    makeArchive(ctx, 'archive.bin', c);
    await executeCopy(req(ctx, dest, { sources: ['archive.bin'], dest: '/x' }));
    assert.deepEqual(describeTree(dest), EXTRACTED);
    assert.equal(statSync(`${dest}/x/top.txt`).mtimeMs, 1_500_000_000_000);
  });
}

test('ADD --chown leaves extracted entries with the archive owners (BuildKit does); --unpack=false copies the archive as a file', async (t) => {
  if (!needRoot(t)) return;
  const { ctx, dest } = setup();
  makeArchive(ctx, 'a.tar.gz', 'gzip');
  await executeCopy(req(ctx, dest, { sources: ['a.tar.gz'], dest: '/x/', chown: '7:8' }));
  const tree0 = describeTree(dest);
  assert.equal(tree0[0], 'x d 755 7:8', 'the destination it creates gets --chown');
  assert.deepEqual(tree0.slice(1), EXTRACTED.slice(1), 'entries keep the archive owners');
  const second = setup();
  makeArchive(second.ctx, 'a.tar.gz', 'gzip');
  await executeCopy(req(second.ctx, second.dest, { sources: ['a.tar.gz'], dest: '/x/', add: { unpack: false } }));
  const tree = describeTree(second.dest);
  assert.equal(tree.length, 2);
  assert.match(tree[1]!, /^x\/a\.tar\.gz f 644 0:0 <\d+ bytes>$/);
});

test('ADD of a non-archive (even named .tar.gz) copies it like COPY', async () => {
  const { ctx, dest } = setup();
  makeTree(ctx, { 'fake.tar.gz': 'not really', 'big.txt': 'x'.repeat(2000), 'gz': { content: '\x1f\x8b\x08garbage' } });
  await executeCopy(req(ctx, dest, { sources: ['fake.tar.gz', 'big.txt', 'gz'], dest: '/y/' }));
  const tree = describeTree(dest);
  assert.deepEqual(tree.slice(0, 3), ['y d 755 0:0', 'y/big.txt f 644 0:0 <2000 bytes>', 'y/fake.tar.gz f 644 0:0 "not really"']);
  assert.match(tree[3]!, /^y\/gz f 644 0:0 "/);
  assert.equal(tree.length, 4);
});

test('ADD refuses an archive entry escaping the destination', async (t) => {
  if (!needCommand(t, 'python3')) return;
  const { ctx, dest } = setup();
  execFileSync('python3', ['-c', `
import tarfile, io
with tarfile.open('${ctx}/evil.tar', 'w') as t:
    i = tarfile.TarInfo('../../escape'); i.size = 1; t.addfile(i, io.BytesIO(b'x'))
`]);
  await assert.rejects(executeCopy(req(ctx, dest, { sources: ['evil.tar'], dest: '/x/' })), (e: unknown) => e instanceof KilnError && e.code === 'ARCHIVE_INVALID');
});

test('ADD URL: named from the URL path, mode 0600, mtime from Last-Modified, checksum verified', async () => {
  const { ctx, dest } = setup();
  await executeCopy(req(ctx, dest, { sources: [`${url}/files/tool.sh`], dest: '/opt/', add: { checksum: `sha256:${BODY_SHA}` } }));
  assert.deepEqual(describeTree(dest), ['opt d 755 0:0', `opt/tool.sh f 600 0:0 ${JSON.stringify(BODY)}`]);
  assert.equal(statSync(`${dest}/opt/tool.sh`).mtimeMs, Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'));
  // a path without a trailing slash is the file; --chmod applies; SOURCE_DATE_EPOCH clamps the mtime
  await executeCopy(req(ctx, dest, { sources: [`${url}/files/tool.sh`], dest: '/usr/bin/tool', chmod: '755', sourceDateEpoch: 1_000_000_000 }));
  assert.equal(readFileSync(`${dest}/usr/bin/tool`, 'utf8'), BODY);
  assert.equal(statSync(`${dest}/usr/bin/tool`).mode & 0o7777, 0o755);
  assert.equal(statSync(`${dest}/usr/bin/tool`).mtimeMs, 1_000_000_000_000);
  await executeCopy(req(ctx, dest, { sources: [`${url}/`], dest: '/u/' }));
  assert.equal(readFileSync(`${dest}/u/__unnamed__`, 'utf8'), 'root');
});

test('ADD URL: checksum mismatch → DIGEST_MISMATCH; HTTP errors and bad checksums are KilnErrors', async () => {
  const { ctx, dest } = setup();
  const wrong = 'sha256:' + '0'.repeat(64);
  await assert.rejects(executeCopy(req(ctx, dest, { sources: [`${url}/files/tool.sh`], dest: '/opt/', add: { checksum: wrong } })), (e: unknown) => e instanceof KilnError && e.code === 'DIGEST_MISMATCH' && e.message.includes(BODY_SHA));
  assert.deepEqual(describeTree(dest), []); // nothing written
  await assert.rejects(executeCopy(req(ctx, dest, { sources: [`${url}/missing`], dest: '/opt/' })), (e: unknown) => e instanceof KilnError && e.code === 'IO' && /404/.test(e.message));
  await assert.rejects(executeCopy(req(ctx, dest, { sources: [`${url}/files/tool.sh`], dest: '/opt/', add: { checksum: 'md5:abc' } })), (e: unknown) => e instanceof KilnError && e.code === 'INVALID_FLAG');
});

test('ADD URL archives are not extracted unless --unpack=true', async (t) => {
  if (!needRoot(t)) return;
  const { ctx, dest } = setup();
  makeArchive(ctx, 'a.tar', '');
  tarBytes = readFileSync(`${ctx}/a.tar`);
  await executeCopy(req(ctx, dest, { sources: [`${url}/a.tar`], dest: '/k/' }));
  assert.deepEqual(describeTree(dest), ['k d 755 0:0', `k/a.tar f 600 0:0 <${tarBytes.length} bytes>`]);
  const second = setup();
  await executeCopy(req(second.ctx, second.dest, { sources: [`${url}/a.tar`], dest: '/x', add: { unpack: true } }));
  assert.deepEqual(describeTree(second.dest), EXTRACTED);
});

test('hashCopyInputs of a URL: pinned by --checksum, else follows what the server sends', async () => {
  const { ctx } = setup();
  const { destRoot: _d, ...r } = req(ctx, '', { sources: [`${url}/a.tar`], dest: '/k/' });
  tarBytes = Buffer.from('one');
  const a = await hashCopyInputs(r);
  assert.equal((await hashCopyInputs(r)).digest, a.digest);
  tarBytes = Buffer.from('two');
  const b = await hashCopyInputs(r);
  assert.notEqual(b.digest, a.digest);
  const pinned = { ...r, add: { checksum: `sha256:${BODY_SHA}` } };
  const p1 = await hashCopyInputs(pinned);
  tarBytes = Buffer.from('three');
  assert.equal((await hashCopyInputs(pinned)).digest, p1.digest);
  await assert.rejects(hashCopyInputs({ ...r, sources: [`${url}/missing`] }), (e: unknown) => e instanceof KilnError && e.code === 'IO');
});

test('git sources are refused for COPY and with --checksum, an ssh one without an agent; URLs are refused for COPY', async () => {
  const { ctx, dest } = setup();
  // fetching is test/e2e/add-git.test.ts's (git servers on 127.0.0.1); these fail before any network
  for (const src of ['https://github.com/moby/buildkit.git', 'git@github.com:moby/buildkit.git', 'git://example.com/r']) {
    const { add: _a, ...copy } = req(ctx, dest, { sources: [src], dest: '/g/' });
    await assert.rejects(executeCopy(copy), (e: unknown) => e instanceof KilnError && e.code === 'INVALID_FLAG' && e.message === `source can't be a git ref for COPY: ${src}`);
    await assert.rejects(executeCopy(req(ctx, dest, { sources: [src], dest: '/g/', add: { checksum: `sha256:${BODY_SHA}` } })), (e: unknown) => e instanceof KilnError && e.message === "checksum can't be specified for non-HTTP sources");
  }
  await assert.rejects(executeCopy(req(ctx, dest, { sources: ['git@github.com:moby/buildkit.git#v0.13.2'], dest: '/g/' })), (e: unknown) => e instanceof KilnError && e.code === 'SECRET_NOT_FOUND');
  const { add: _add, ...copy } = req(ctx, dest, { sources: [`${url}/files/tool.sh`], dest: '/c/' });
  await assert.rejects(executeCopy(copy), (e: unknown) => e instanceof KilnError && e.code === 'INVALID_FLAG');
  writeFileSync(`${ctx}/f`, 'x');
  await assert.rejects(executeCopy(req(ctx, dest, { sources: ['f'], dest: '/c/', add: { checksum: `sha256:${BODY_SHA}` } })), (e: unknown) => e instanceof KilnError && e.code === 'INVALID_FLAG');
});

test('ADD archive: replaces existing paths (even a directory by a file), merges directories, keeps hardlinks, refuses escaping symlinks', async (t) => {
  if (!needCommand(t, 'python3') || !needRoot(t)) return;
  const { ctx, dest } = setup();
  makeTree(dest, { 'x/top.txt/': {}, 'x/sub/old': 'old', 'x/f': 'was a file' });
  makeArchive(ctx, 'a.tar', '');
  // unlike COPY, extraction replaces a directory by a file (moby's Untar removes what is in the way)
  await executeCopy(req(ctx, dest, { sources: ['a.tar'], dest: '/x' }));
  assert.deepEqual(describeTree(dest), ['x d 755 0:0', 'x/f f 644 0:0 "was a file"', 'x/ln l 5:6 -> top.txt', 'x/sub d 711 5:6', 'x/sub/inner f 644 5:6 "I"', 'x/sub/old f 644 0:0 "old"', 'x/top.txt f 600 5:6 "T"']);
  execFileSync('python3', ['-c', `
import tarfile, io
with tarfile.open('${ctx}/links.tar', 'w') as t:
    i = tarfile.TarInfo('f'); i.size = 2; t.addfile(i, io.BytesIO(b'hi'))
    h = tarfile.TarInfo('h'); h.type = tarfile.LNKTYPE; h.linkname = 'f'; t.addfile(h)
    s = tarfile.TarInfo('abs'); s.type = tarfile.SYMTYPE; s.linkname = '/etc/passwd'; t.addfile(s)
with tarfile.open('${ctx}/evil-link.tar', 'w') as t:
    s = tarfile.TarInfo('d/up'); s.type = tarfile.SYMTYPE; s.linkname = '../../out'; t.addfile(s)
`]);
  await executeCopy(req(ctx, dest, { sources: ['links.tar'], dest: '/l/' }));
  assert.equal(statSync(`${dest}/l/f`).ino, statSync(`${dest}/l/h`).ino);
  assert.deepEqual(describeTree(`${dest}/l`).filter((l) => l.startsWith('abs')), ['abs l 0:0 -> /etc/passwd']);
  await assert.rejects(executeCopy(req(ctx, dest, { sources: ['evil-link.tar'], dest: '/e/' })), (e: unknown) => e instanceof KilnError && e.code === 'ARCHIVE_INVALID');
});

test('ADD archive: implied parent directories are 0755 and root-owned; entries keep the archive owner, even with --chown', async (t) => {
  if (!needCommand(t, 'python3') || !needRoot(t)) return;
  const { ctx, dest } = setup();
  execFileSync('python3', ['-c', `
import tarfile, io
with tarfile.open('${ctx}/nodirs.tar.gz', 'w:gz') as t:
    i = tarfile.TarInfo('a/b/file'); i.size = 1; i.mode = 0o640; i.uid = 3; i.gid = 4; t.addfile(i, io.BytesIO(b'x'))
`]);
  await executeCopy(req(ctx, dest, { sources: ['nodirs.tar.gz'], dest: '/n/', chown: '7:8' }));
  assert.deepEqual(describeTree(dest), ['n d 755 7:8', 'n/a d 755 0:0', 'n/a/b d 755 0:0', 'n/a/b/file f 640 3:4 "x"']);
});
