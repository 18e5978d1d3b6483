import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { gunzipMembers } from './gunzip.js';

/** The input cut into chunks of `size` bytes (to hit every chunk boundary). */
async function* chunks(b: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

/** What gunzipMembers delivers before it fails, and the failure. */
async function run(input: Buffer, size = 1 << 20): Promise<{ out: Buffer; error?: string }> {
  const parts: Buffer[] = [];
  try {
    for await (const b of gunzipMembers(chunks(input, size))) parts.push(b);
    return { out: Buffer.concat(parts) };
  } catch (e) {
    return { out: Buffer.concat(parts), error: (e as Error).message };
  }
}

// compressible and incompressible data, so members span many chunks
const data = Buffer.concat([randomBytes(300_000), Buffer.alloc(700_000, 'kiln ')]);
const gz = gzipSync(data);

test('gunzipMembers: one member, any chunking', async () => {
  for (const size of [1, 7, 512, 65_536, 1 << 20]) {
    const r = await run(size === 1 ? gzipSync(data.subarray(0, 5000)) : gz, size);
    assert.equal(r.error, undefined, `chunks of ${size}`);
    assert.ok(r.out.equals(size === 1 ? data.subarray(0, 5000) : data), `chunks of ${size}`);
  }
});

test('gunzipMembers: several members are one stream (Go multistream, gzip -c a b)', async () => {
  const r = await run(Buffer.concat([gzipSync('one\n'), gzipSync(''), gz]), 100);
  assert.equal(r.error, undefined);
  assert.ok(r.out.equals(Buffer.concat([Buffer.from('one\n'), data])));
});

test('gunzipMembers: a bad trailer or trailing garbage fails only after all the data came out', async () => {
  const badCrc = Buffer.from(gz);
  badCrc[badCrc.length - 8]! ^= 0xff;
  const badSize = Buffer.from(gz);
  badSize[badSize.length - 1]! ^= 0x01;
  const cases: [string, Buffer, RegExp][] = [
    ['bad CRC-32', badCrc, /gzip: invalid checksum/],
    ['bad size', badSize, /gzip: invalid checksum/],
    ['trailing garbage', Buffer.concat([gz, Buffer.from('NOT GZIP AT ALL')]), /gzip: invalid header/],
    ['a trailing gzip magic with junk', Buffer.concat([gz, Buffer.from([0x1f, 0x8b, 0x08, 1, 2])]), /unexpected end/],
    ['no trailer', gz.subarray(0, gz.length - 8), /unexpected end/],
  ];
  for (const [what, input, error] of cases) {
    for (const size of [13, 65_536, 1 << 22]) {
      const r = await run(input, size);
      assert.match(r.error ?? '(none)', error, `${what}, chunks of ${size}`);
      assert.ok(r.out.equals(data), `${what}, chunks of ${size}: all ${data.length} bytes first (got ${r.out.length})`);
    }
  }
});

test('gunzipMembers: truncated deflate data fails; optional header fields are skipped', async () => {
  const cut = await run(gz.subarray(0, gz.length >> 1));
  assert.match(cut.error ?? '', /unexpected end/);
  assert.ok(cut.out.length < data.length && data.subarray(0, cut.out.length).equals(cut.out));
  // FEXTRA, FNAME, FCOMMENT and FHCRC (a hand-built header around a raw member body)
  const body = gzipSync('fields\n').subarray(10);
  const header = Buffer.concat([
    Buffer.from([0x1f, 0x8b, 0x08, 0x04 | 0x08 | 0x10 | 0x02, 0, 0, 0, 0, 0, 3]),
    Buffer.from([3, 0, 0xaa, 0xbb, 0xcc]),
    Buffer.from('name.tar\0comment\0'),
    Buffer.from([0x12, 0x34]),
  ]);
  const r = await run(Buffer.concat([header, body]), 3);
  assert.equal(r.error, undefined);
  assert.equal(r.out.toString(), 'fields\n');
  assert.match((await run(Buffer.from('not gzip, not at all'))).error ?? '', /gzip: invalid header/);
  assert.match((await run(Buffer.alloc(0))).error ?? '', /unexpected end/);
});
