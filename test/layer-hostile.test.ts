// A hostile corpus: crafted layer tars (raw header bytes built here) that try to escape the root,
// lie in their headers or are truncated. Each must be refused with LAYER_UNSAFE naming the entry,
// and nothing outside the target root may change (a sentinel directory sits beside it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { KilnError } from '../src/errors.js';
import { TAR_END, applyLayer, encodeEntry, encodeHeader, type TarHeader } from '../src/layer/index.js';
import { describeTree } from './helpers/layer-tree.js';

type H = Partial<TarHeader> & { name: string };
const hdr = (h: H): TarHeader => ({ type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 1600000000, ...h });
const ent = (h: H, body?: string | Buffer): Buffer => encodeEntry(hdr(h), body === undefined ? undefined : Buffer.from(body));
const tar = (...parts: Buffer[]): Buffer => Buffer.concat([...parts, TAR_END]);

/** Recomputes a header block's checksum after hand edits. */
function fixChecksum(block: Buffer): Buffer {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += block[i]!;
  block.write(sum.toString(8).padStart(6, '0'), 148, 'latin1');
  block[154] = 0;
  return block;
}

/** A raw extension header ('x', 'g', 'L', 'K') with `body` as its data, exactly as given. */
function extension(flag: string, body: Buffer, declaredSize = body.length): Buffer {
  const block = Buffer.from(encodeHeader(hdr({ name: 'PaxHeaders.0/x' })));
  block[156] = flag.charCodeAt(0);
  block.write(declaredSize.toString(8).padStart(11, '0'), 124, 'latin1');
  fixChecksum(block);
  const pad = (512 - (body.length % 512)) % 512;
  return Buffer.concat([block, body, Buffer.alloc(pad)]);
}

const paxRec = (k: string, v: string): string => {
  const rest = k.length + v.length + 3;
  let n = rest + String(rest).length;
  if (String(n).length !== String(rest).length) n = rest + String(n).length;
  return `${n} ${k}=${v}\n`;
};

/** Header with a raw 12-byte base-256 size field (GNU), for negative/huge sizes. */
function base256Size(name: string, field: number[]): Buffer {
  const block = Buffer.from(encodeHeader(hdr({ name })));
  Buffer.from(field).copy(block, 124);
  return fixChecksum(block);
}

interface Case {
  name: string;
  /** Pre-existing rootfs content, made before applying (root and sentinel paths given). */
  setup?: (root: string, sentinel: string) => void;
  layer: (sentinel: string) => Buffer;
  /** Expected message fragment (the entry name, usually). */
  error: RegExp;
  code?: 'LAYER_UNSAFE' | 'LAYER_INVALID';
}

const CASES: Case[] = [
  { name: 'dot-dot escape in the name', layer: () => tar(ent({ name: '../sentinel/pwned' }, 'x')), error: /"\.\.\/sentinel\/pwned" escapes the root/ },
  { name: 'dot-dot escape after a component', layer: () => tar(ent({ name: 'a/../../sentinel/pwned' }, 'x')), error: /a\/\.\.\/\.\.\/sentinel\/pwned/ },
  {
    name: 'write through a symlink created earlier in the layer that climbs out',
    layer: () => tar(ent({ name: 'evil', type: 'symlink', linkname: '../sentinel' }), ent({ name: 'evil/pwned' }, 'x')),
    error: /"evil\/pwned" resolves through a symlink that points above the root/,
  },
  {
    name: 'write through a symlink already in the rootfs that climbs out',
    setup: (root) => symlinkSync('../../../../sentinel', `${root}/link`),
    layer: () => tar(ent({ name: 'link/pwned' }, 'x')),
    error: /"link\/pwned" resolves through a symlink/,
  },
  {
    name: 'deep chain of symlinks that climbs out at the end',
    layer: () => tar(
      ent({ name: 'a', type: 'symlink', linkname: 'b/c' }),
      ent({ name: 'b', type: 'dir' }),
      ent({ name: 'b/c', type: 'symlink', linkname: '../../sentinel' }),
      ent({ name: 'a/pwned' }, 'x'),
    ),
    error: /"a\/pwned" resolves through a symlink/,
  },
  {
    name: 'symlink loop',
    layer: () => tar(ent({ name: 'l1', type: 'symlink', linkname: 'l2' }), ent({ name: 'l2', type: 'symlink', linkname: 'l1' }), ent({ name: 'l1/x' }, 'x')),
    error: /"l1\/x": too many levels of symlinks/,
  },
  { name: 'hardlink to a path outside', layer: () => tar(ent({ name: 'h', type: 'link', linkname: '../sentinel/secret' })), error: /hardlink target of "h".*escapes the root/ },
  {
    name: 'hardlink through an escaping symlink',
    layer: () => tar(ent({ name: 's', type: 'symlink', linkname: '../..' }), ent({ name: 'h', type: 'link', linkname: 's/sentinel/secret' })),
    error: /"h" resolves through a symlink that points above the root/,
  },
  { name: 'whiteout that escapes', layer: () => tar(ent({ name: '../sentinel/.wh.secret' })), error: /"\.\.\/sentinel\/\.wh\.secret" escapes the root/ },
  { name: 'whiteout naming ..', layer: () => tar(ent({ name: 'dir/.wh...' })), error: /whiteout "dir\/\.wh\.\.\." names an invalid path/ },
  {
    name: 'whiteout through an escaping symlink',
    layer: () => tar(ent({ name: 's', type: 'symlink', linkname: '../sentinel' }), ent({ name: 's/.wh.secret' })),
    error: /"s\/\.wh\.secret" resolves through a symlink/,
  },
  {
    name: 'opaque whiteout through an escaping symlink',
    layer: () => tar(ent({ name: 's', type: 'symlink', linkname: '../sentinel' }), ent({ name: 's/.wh..wh..opq' })),
    error: /"s\/\.wh\.\.wh\.\.opq" resolves through a symlink/,
  },
  {
    name: 'PAX path that escapes (the USTAR name looks harmless)',
    layer: () => tar(extension('x', Buffer.from(paxRec('path', '../sentinel/pwned'))), ent({ name: 'harmless' }, 'x')),
    error: /"\.\.\/sentinel\/pwned" escapes the root/,
  },
  {
    name: 'GNU long name that escapes',
    layer: () => tar(extension('L', Buffer.from('../../sentinel/pwned\0')), ent({ name: 'harmless' }, 'x')),
    error: /"\.\.\/\.\.\/sentinel\/pwned" escapes the root/,
  },
  {
    name: 'bad checksum',
    layer: () => {
      const e = ent({ name: 'file' }, 'hello');
      e[0] = 'F'.charCodeAt(0); // name changed, checksum not updated
      return tar(e);
    },
    error: /header #1 \("File"\) has a bad checksum/,
  },
  { name: 'truncated header', layer: () => ent({ name: 'file' }, 'hello').subarray(0, 300), error: /truncated inside header #1/ },
  { name: 'truncated body', layer: () => ent({ name: 'file' }, Buffer.alloc(5000, 1)).subarray(0, 1536), error: /truncated inside the data of "file"/ },
  { name: 'negative size (base-256)', layer: () => tar(base256Size('neg', [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00])), error: /"neg" has a negative size/ },
  { name: 'huge size (base-256, 2^80)', layer: () => tar(base256Size('huge', [0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0])), error: /size of "huge" is out of range/ },
  {
    name: 'non-octal garbage in the size field',
    layer: () => {
      const b = Buffer.from(encodeHeader(hdr({ name: 'garbage' })));
      b.write('12x45678901\0', 124, 'latin1');
      return tar(fixChecksum(b));
    },
    error: /size of "garbage" is not an octal number/,
  },
  {
    name: 'PAX record whose length lies (longer than the header)',
    layer: () => tar(extension('x', Buffer.from('99 path=abc\n')), ent({ name: 'f' }, 'x')),
    error: /record length 99 does not match the data/,
  },
  {
    name: 'PAX record whose length lies (shorter: no newline where it ends)',
    layer: () => tar(extension('x', Buffer.from('10 path=abcdef\n')), ent({ name: 'f' }, 'x')),
    error: /does not end in a newline/,
  },
  {
    name: 'PAX size that lies about the data that follows',
    layer: () => tar(extension('x', Buffer.from(paxRec('size', '999999'))), ent({ name: 'liar' }, 'short')),
    error: /truncated inside the data of "liar"/,
  },
  {
    name: 'PAX size that is not a number',
    layer: () => tar(extension('x', Buffer.from(paxRec('size', '-5'))), ent({ name: 'liar' }, 'x')),
    error: /PAX record size="-5" of "liar" is not a valid number/,
  },
  {
    name: 'PAX path with a NUL byte',
    layer: () => tar(extension('x', Buffer.from(paxRec('path', 'ok\0../../x'))), ent({ name: 'nul' }, 'x')),
    error: /PAX path of "nul" contains a NUL byte/,
  },
  {
    name: 'over-long PAX header (2 MiB)',
    layer: () => tar(extension('x', Buffer.alloc(0), 2 << 20)),
    error: /x extension header #1 is too large \(2097152 bytes/,
  },
  {
    name: 'extension header with no entry after it',
    layer: () => tar(extension('x', Buffer.from(paxRec('path', 'a')))),
    error: /ends after an extension header/,
  },
  {
    name: 'name longer than PATH_MAX (3000 nested directories)',
    layer: () => tar(extension('x', Buffer.from(paxRec('path', `${'a/'.repeat(3000)}x`))), ent({ name: 'deep' }, 'x')),
    error: /is longer than 4096 bytes/,
  },
  {
    name: 'GNU sparse file',
    layer: () => {
      const b = Buffer.from(encodeHeader(hdr({ name: 'sparse' })));
      b[156] = 'S'.charCodeAt(0);
      return tar(fixChecksum(b));
    },
    error: /"sparse" is an old-style GNU sparse file/,
  },
  {
    name: 'PAX sparse map with overlapping fragments',
    layer: () => tar(extension('x', Buffer.from(paxRec('GNU.sparse.major', '0') + paxRec('GNU.sparse.minor', '1') + paxRec('GNU.sparse.numblocks', '2') + paxRec('GNU.sparse.map', '0,4,2,2') + paxRec('GNU.sparse.size', '8'))), ent({ name: 's' }, 'xxxxxx')),
    error: /sparse map of "s" has a fragment \[2, \+2\] out of order/,
  },
  {
    name: 'PAX sparse map past the real size',
    layer: () => tar(extension('x', Buffer.from(paxRec('GNU.sparse.major', '0') + paxRec('GNU.sparse.minor', '1') + paxRec('GNU.sparse.numblocks', '1') + paxRec('GNU.sparse.map', '6,4') + paxRec('GNU.sparse.size', '8'))), ent({ name: 's' }, 'xxxx')),
    error: /outside the 8-byte file/,
  },
  {
    name: 'PAX sparse data the map does not refer to',
    layer: () => tar(extension('x', Buffer.from(paxRec('GNU.sparse.major', '0') + paxRec('GNU.sparse.minor', '1') + paxRec('GNU.sparse.numblocks', '1') + paxRec('GNU.sparse.map', '0,2') + paxRec('GNU.sparse.size', '8'))), ent({ name: 's' }, 'xxxx')),
    error: /sparse data that its map does not refer to/,
  },
  {
    name: 'PAX sparse 1.0 map that claims a billion fragments',
    layer: () => tar(extension('x', Buffer.from(paxRec('GNU.sparse.major', '1') + paxRec('GNU.sparse.minor', '0') + paxRec('GNU.sparse.realsize', '8'))), ent({ name: 's' }, Buffer.concat([Buffer.from('1000000000\n'), Buffer.alloc(501)]))),
    error: /truncated inside the GNU sparse map of "s"/,
  },
];

function setupDirs(): { base: string; root: string; sentinel: string } {
  const base = mkdtempSync(`${tmpdir()}/kiln-hostile-`);
  // root is nested so escapes have room to land somewhere visible
  const root = `${base}/a/b/root`;
  const sentinel = `${base}/a/b/sentinel`;
  mkdirSync(root, { recursive: true });
  mkdirSync(sentinel, { recursive: true });
  writeFileSync(`${sentinel}/secret`, 'do not touch');
  // the escaping symlink case above climbs 4 levels; give it a sentinel at that depth too
  mkdirSync(`${base}/sentinel`, { recursive: true });
  writeFileSync(`${base}/sentinel/secret`, 'do not touch either');
  return { base, root, sentinel };
}

/** Everything under base except root's own subtree. */
function outside(base: string): string[] {
  return describeTree(base).filter((l) => !/^a\/b\/root\//.test(l) && !/^a\/b\/root /.test(l));
}

test(`hostile corpus: ${CASES.length} crafted layers are refused with LAYER_UNSAFE and touch nothing outside the root`, async () => {
  assert.ok(CASES.length >= 12);
  for (const c of CASES) {
    const { base, root, sentinel } = setupDirs();
    try {
      c.setup?.(root, sentinel);
      const before = outside(base);
      await assert.rejects(
        applyLayer([c.layer(sentinel)], root),
        (e: unknown) => {
          assert.ok(e instanceof KilnError, `${c.name}: not a KilnError: ${String(e)}`);
          assert.equal(e.code, c.code ?? 'LAYER_UNSAFE', `${c.name}: ${e.message}`);
          assert.match(e.message, c.error, c.name);
          return true;
        },
        c.name,
      );
      assert.deepEqual(outside(base), before, `${c.name}: something outside the root changed`);
      assert.ok(!existsSync(`${sentinel}/pwned`) && !existsSync(`${base}/sentinel/pwned`), c.name);
      assert.equal(readFileSync(`${sentinel}/secret`, 'utf8'), 'do not touch', c.name);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  }
});

test('contained, not refused: absolute names and absolute symlinks resolve inside the root (Docker/containerd semantics)', async () => {
  const { base, root, sentinel } = setupDirs();
  try {
    const before = outside(base);
    await applyLayer(
      [
        tar(
          ent({ name: `/abs-name` }, 'abs'), // leading '/' stripped
          ent({ name: 'var', type: 'dir', mode: 0o755 }),
          ent({ name: 'var/run', type: 'symlink', linkname: '/run' }), // absolute symlink, e.g. Debian's /var/run
          ent({ name: 'var/run/pid' }, '1'), // lands in root/run/pid
          ent({ name: 'out', type: 'symlink', linkname: sentinel }), // absolute path of the real sentinel
          ent({ name: 'out/pwned' }, 'x'), // lands in root/<sentinel path>/pwned
          ent({ name: 'trap', type: 'symlink', linkname: `${sentinel}/secret` }),
          ent({ name: 'trap' }, 'replaced'), // replaces the symlink, never writes through it
          ent({ name: 'hl', type: 'link', linkname: '/abs-name' }), // absolute hardlink target, inside root
        ),
      ],
      root,
    );
    assert.equal(readFileSync(`${root}/abs-name`, 'utf8'), 'abs');
    assert.equal(readFileSync(`${root}/run/pid`, 'utf8'), '1');
    assert.equal(readFileSync(`${root}${sentinel}/pwned`, 'utf8'), 'x');
    assert.equal(readFileSync(`${root}/trap`, 'utf8'), 'replaced');
    assert.equal(readFileSync(`${root}/hl`, 'utf8'), 'abs');
    assert.deepEqual(outside(base), before);
    assert.equal(readFileSync(`${sentinel}/secret`, 'utf8'), 'do not touch');
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('a hardlink to a missing target is LAYER_INVALID; to a directory LAYER_UNSAFE', async () => {
  const { base, root } = setupDirs();
  try {
    await assert.rejects(applyLayer([tar(ent({ name: 'h', type: 'link', linkname: 'nope' }))], root), { code: 'LAYER_INVALID', message: /"h" points at "nope", which does not exist/ });
    await assert.rejects(applyLayer([tar(ent({ name: 'd', type: 'dir' }), ent({ name: 'h', type: 'link', linkname: 'd' }))], root), { code: 'LAYER_UNSAFE', message: /points at a directory/ });
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
