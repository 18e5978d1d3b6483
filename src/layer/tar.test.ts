import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KilnError } from '../errors.js';
import { BLOCK, TAR_END, encodeEntry, encodeHeader, parseNumeric, parsePaxRecords, type TarHeader } from './tar-format.js';
import { readBody, readTar } from './tar-reader.js';

const base: TarHeader = { name: 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 1600000000 };

async function roundTrip(entries: Array<[TarHeader, Buffer?]>, chunk = 0): Promise<Array<TarHeader & { data: Buffer }>> {
  const bytes = Buffer.concat([...entries.map(([h, b]) => encodeEntry(h, b)), TAR_END]);
  const chunks: Buffer[] = [];
  if (chunk > 0) for (let i = 0; i < bytes.length; i += chunk) chunks.push(bytes.subarray(i, i + chunk));
  else chunks.push(bytes);
  const out: Array<TarHeader & { data: Buffer }> = [];
  for await (const e of readTar(chunks)) out.push({ ...e.header, data: await readBody(e.body) });
  return out;
}

test('plain USTAR entries need no PAX header and round-trip', async () => {
  const h = encodeHeader({ ...base, name: 'usr/bin/x' });
  assert.equal(h.length, BLOCK); // nothing needed PAX
  assert.equal(h.toString('latin1', 257, 265), 'ustar\x0000');
  const [e] = await roundTrip([[{ ...base, name: 'usr/bin/x', mode: 0o4755 }, Buffer.from('hello')]]);
  assert.equal(e!.name, 'usr/bin/x');
  assert.equal(e!.mode, 0o4755);
  assert.equal(e!.data.toString(), 'hello');
});

test('values USTAR cannot hold go to PAX: long/UTF-8 names, big ids, sub-second and negative mtimes, binary xattrs, big devices', async () => {
  const cap = Buffer.from([0x01, 0x00, 0x00, 0x02, 0xff, 0x0a, 0x3d, 0x00, 0x80]); // NUL, newline, '=', non-UTF-8
  const long = `${'a'.repeat(160)}/${'b'.repeat(120)}`; // > 256: cannot split into prefix/name
  const entries: Array<[TarHeader, Buffer?]> = [
    [{ ...base, name: long }, Buffer.from('x')],
    [{ ...base, name: 'ünï/名前' }],
    [{ ...base, name: 'ids', uid: 3000000, gid: 2 ** 32 - 2 }],
    [{ ...base, name: 'sub', mtime: 1700000000, mtimeNsec: 500000000 }],
    [{ ...base, name: 'old', mtime: -86400 }],
    [{ ...base, name: 'far', mtime: 4102444800 }], // 2100 fits the 11-digit octal field
    [{ ...base, name: 'cap', xattrs: new Map([['security.capability', cap], ['user.x', Buffer.from('y')]]) }],
    [{ ...base, name: 'dev', type: 'char', devmajor: 1, devminor: 3 }],
    [{ ...base, name: 'bigdev', type: 'block', devmajor: 4095, devminor: 3000000 }],
    [{ ...base, name: 'l', type: 'symlink', linkname: `../${'t'.repeat(200)}` }],
    [{ ...base, name: 'h', type: 'link', linkname: 'f' }],
    [{ ...base, name: 'd/', type: 'dir', mode: 0o1777 }],
    [{ ...base, name: 'p', type: 'fifo' }],
  ];
  assert.equal(encodeHeader({ ...base, name: 'far', mtime: 4102444800 }).length, BLOCK);
  const got = await roundTrip(entries, 7); // odd chunking exercises the byte source
  assert.equal(got.length, entries.length);
  assert.equal(got[0]!.name, long);
  assert.equal(got[0]!.data.toString(), 'x');
  assert.equal(got[1]!.name, 'ünï/名前');
  assert.deepEqual([got[2]!.uid, got[2]!.gid], [3000000, 2 ** 32 - 2]);
  assert.deepEqual([got[3]!.mtime, got[3]!.mtimeNsec], [1700000000, 500000000]);
  assert.equal(got[4]!.mtime, -86400);
  assert.equal(got[5]!.mtime, 4102444800);
  assert.ok(got[6]!.xattrs!.get('security.capability')!.equals(cap));
  assert.equal(got[6]!.xattrs!.get('user.x')!.toString(), 'y');
  assert.deepEqual([got[7]!.type, got[7]!.devmajor, got[7]!.devminor], ['char', 1, 3]);
  assert.deepEqual([got[8]!.devmajor, got[8]!.devminor], [4095, 3000000]);
  assert.equal(got[9]!.linkname, `../${'t'.repeat(200)}`);
  assert.deepEqual([got[10]!.type, got[10]!.linkname], ['link', 'f']);
  assert.deepEqual([got[11]!.type, got[11]!.mode], ['dir', 0o1777]);
  assert.equal(got[12]!.type, 'fifo');
});

test('encoding is deterministic (PAX records sorted, fixed PAX header name)', () => {
  const h: TarHeader = { ...base, name: 'x'.repeat(300), uid: 5000000, xattrs: new Map([['user.b', Buffer.from('2')], ['user.a', Buffer.from('1')]]) };
  const a = encodeHeader(h);
  const b = encodeHeader({ ...h, xattrs: new Map([['user.a', Buffer.from('1')], ['user.b', Buffer.from('2')]]) });
  assert.ok(a.equals(b));
  const body = a.subarray(BLOCK).toString('latin1');
  assert.ok(body.indexOf('SCHILY.xattr.user.a') < body.indexOf('SCHILY.xattr.user.b'));
  assert.match(a.toString('latin1', 0, 100), /^PaxHeaders\.0\/x+/);
});

test('numeric fields: octal with spaces/NULs, GNU base-256 positive and negative, garbage rejected', () => {
  assert.equal(parseNumeric(Buffer.from(' 0000644 \0'), 'mode', 'ARCHIVE_INVALID'), 0o644);
  assert.equal(parseNumeric(Buffer.from('\0\0\0\0'), 'mode', 'ARCHIVE_INVALID'), 0);
  assert.equal(parseNumeric(Buffer.from([0x80, 0, 0, 0, 0, 0x2d, 0xc6, 0xc0]), 'uid', 'ARCHIVE_INVALID'), 3000000);
  assert.equal(parseNumeric(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]), 'mtime', 'ARCHIVE_INVALID'), -2);
  assert.throws(() => parseNumeric(Buffer.from('12a4'), 'size', 'LAYER_UNSAFE'), (e: unknown) => e instanceof KilnError && e.code === 'LAYER_UNSAFE');
});

test('PAX records are bytes: values may hold newlines, "=" and invalid UTF-8; lengths are checked', () => {
  const value = Buffer.from([0x0a, 0x3d, 0xff, 0x00]);
  const rec = Buffer.concat([Buffer.from('25 SCHILY.xattr.user.v='), value, Buffer.from('\n')]);
  const fixed = Buffer.concat([Buffer.from('28 SCHILY.xattr.user.v='), value, Buffer.from('\n')]);
  assert.ok(parsePaxRecords(fixed, 'ARCHIVE_INVALID', 'x').get('SCHILY.xattr.user.v')!.equals(value));
  assert.throws(() => parsePaxRecords(rec, 'ARCHIVE_INVALID', 'x'), /does not end in a newline|does not match/);
  assert.throws(() => parsePaxRecords(Buffer.from('06 a=b\n'), 'ARCHIVE_INVALID', 'x'), /not a number/);
  assert.throws(() => parsePaxRecords(Buffer.from('7 ab\nxx'), 'ARCHIVE_INVALID', 'x'), /no key=value|newline/);
});

test("global PAX headers are ignored as Go's archive/tar ignores them (and drop a pending 'x'); LIBARCHIVE xattrs are base64", async () => {
  const ext = (flag: string, records: string): Buffer => {
    const body = Buffer.from(records);
    const h = Buffer.from(encodeHeader({ ...base, name: 'pax' }));
    h[156] = flag.charCodeAt(0);
    h.write(body.length.toString(8).padStart(11, '0'), 124, 'latin1');
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    return Buffer.concat([h, body, Buffer.alloc((512 - (body.length % 512)) % 512)]);
  };
  const rec = (k: string, v: string): string => {
    let n = k.length + v.length + 3;
    n += String(n + String(n).length).length;
    return `${n} ${k}=${v}\n`;
  };
  const bytes = Buffer.concat([
    ext('g', rec('uid', '4242')),
    encodeEntry({ ...base, name: 'a' }),
    ext('x', rec('LIBARCHIVE.xattr.user.k%20x', 'AAEC/w==')),
    encodeEntry({ ...base, name: 'b' }),
    ext('x', rec('uid', '99')),
    ext('g', rec('uid', '')),
    encodeEntry({ ...base, name: 'c', uid: 7 }),
    TAR_END,
  ]);
  const got: TarHeader[] = [];
  for await (const e of readTar([bytes])) got.push(e.header);
  assert.deepEqual(got.map((h) => [h.name, h.uid]), [['a', 0], ['b', 0], ['c', 7]]);
  // a malformed global header is still an error
  await assert.rejects(async () => {
    for await (const _ of readTar([Buffer.concat([ext('g', '7 ab\nxx'), TAR_END])]));
  }, /no key=value|newline/);
  assert.ok(got[1]!.xattrs!.get('user.k x')!.equals(Buffer.from([0, 1, 2, 0xff])));
});

test('unread bodies are skipped; a stream without the end marker ends cleanly at a header boundary', async () => {
  const bytes = Buffer.concat([encodeEntry({ ...base, name: 'big' }, Buffer.alloc(3000, 1)), encodeEntry({ ...base, name: 'next' }, Buffer.from('n'))]);
  const names: string[] = [];
  let data = '';
  for await (const e of readTar([bytes])) {
    names.push(e.header.name);
    if (e.header.name === 'next') data = (await readBody(e.body)).toString();
  }
  assert.deepEqual(names, ['big', 'next']);
  assert.equal(data, 'n');
});

test('malformed input is ARCHIVE_INVALID by default (or the code asked for)', async () => {
  const bad = encodeEntry({ ...base, name: 'f' }, Buffer.from('x'));
  bad[10] = 0x41;
  const consume = async (code?: 'LAYER_UNSAFE') => {
    for await (const _ of readTar([bad], code ? { errorCode: code } : {})) void _;
  };
  await assert.rejects(consume(), { code: 'ARCHIVE_INVALID', message: /bad checksum/ });
  await assert.rejects(consume('LAYER_UNSAFE'), { code: 'LAYER_UNSAFE' });
  const { gzipSync } = await import('node:zlib');
  const gz = gzipSync(Buffer.concat([encodeEntry({ ...base, name: 'f' }), TAR_END]));
  await assert.rejects(async () => {
    for await (const _ of readTar([gz])) void _;
  }, { code: 'ARCHIVE_INVALID', message: /gzip-compressed, not a tar/ });
});

test('writeTar streams given entries (bodies as iterables) and checks body sizes', async () => {
  const { writeTar } = await import('./tar-writer.js');
  const bytes: Buffer[] = [];
  for await (const c of writeTar([
    { header: { ...base, name: 'a', size: 6 }, body: [Buffer.from('abc'), Buffer.from('def')] },
    { header: { ...base, name: 'd/', type: 'dir' } },
  ])) bytes.push(c as Buffer);
  const got: string[] = [];
  for await (const e of readTar(bytes)) got.push(`${e.header.name}:${(await readBody(e.body)).toString()}`);
  assert.deepEqual(got, ['a:abcdef', 'd/:']);
  await assert.rejects(async () => {
    for await (const _ of writeTar([{ header: { ...base, name: 'short', size: 10 }, body: Buffer.from('x') }])) void _;
  }, { code: 'INTERNAL', message: /"short": body has fewer bytes/ });
});
