// resolveUser against BuildKit's answers (Docker 26, test/conformance/cases/runenv-user-* and
// runenv-home-*): GetUser's uid:gid fast path, runc's GetExecUser and its file parsing, and the
// HOME runc's init sets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveUser } from './user.js';

function rootfs(passwd: string | undefined, group: string | undefined): string {
  const root = mkdtempSync(join(tmpdir(), 'kiln-user-rules-'));
  mkdirSync(join(root, 'etc'));
  if (passwd !== undefined) writeFileSync(join(root, 'etc', 'passwd'), passwd);
  if (group !== undefined) writeFileSync(join(root, 'etc', 'group'), group);
  return root;
}

test("USER as BuildKit resolves it: numbers are ids, runc's parsing, HOME by uid", () => {
  const root = rootfs(
    [
      'root:x:0:0:root:/root:/bin/sh',
      '#old:x:1600:1600::/home/old:/bin/sh', // not a comment to runc
      'app:x:1000:1000::/home/app:/bin/sh',
      'alias:x:1000:1000::/home/alias:/bin/sh', // same uid: HOME is app's
      '1234:x:2000:2000::/home/n:/bin/sh', // a user NAMED 1234
      'nohome:x:1700:1700:::/bin/sh',
      'short:x:1500',
      '  spaced:x:1800:1800::/home/spaced:/bin/sh  ',
    ].join('\n'),
    ['wheel:x:10:app', 'staff:x:50:root,app', '# app:x:99:app', 'spaced:x:1801: app', 'tail:x:1802:app ', '4321:x:77:'].join('\n'),
  );
  try {
    const r = (spec: string) => resolveUser(root, spec);
    assert.deepEqual(r(''), { uid: 0, gid: 0, additionalGids: [50], home: '/root' });
    assert.deepEqual(r('app'), { uid: 1000, gid: 1000, additionalGids: [10, 50, 1802], home: '/home/app' }); // ' app' is not app; 'app ' is (trimmed line)
    assert.deepEqual(r('alias'), { uid: 1000, gid: 1000, additionalGids: [], home: '/home/app' });
    assert.deepEqual(r('1234'), { uid: 1234, gid: 0, additionalGids: [], home: '/' }); // a uid, not the user named 1234
    assert.deepEqual(r('app:4321'), { uid: 1000, gid: 4321, additionalGids: [], home: '/home/app' }); // a gid, not the group named 4321
    assert.deepEqual(r('1600'), { uid: 1600, gid: 1600, additionalGids: [], home: '/home/old' });
    assert.deepEqual(r('nohome'), { uid: 1700, gid: 1700, additionalGids: [], home: '' });
    assert.deepEqual(r('short'), { uid: 1500, gid: 0, additionalGids: [], home: '' });
    assert.deepEqual(r('spaced'), { uid: 1800, gid: 1800, additionalGids: [], home: '/home/spaced' });
    assert.deepEqual(r('4242:4343'), { uid: 4242, gid: 4343, additionalGids: [], home: '/' }); // fast path, no lookup
    assert.throws(() => r('root:app'), /unable to find group app/); // no group named app
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('USER on a rootfs without /etc/passwd or /etc/group: ids run, names fail, HOME is /', () => {
  const root = rootfs(undefined, undefined);
  try {
    assert.deepEqual(resolveUser(root, ''), { uid: 0, gid: 0, additionalGids: [], home: '/' });
    assert.deepEqual(resolveUser(root, '42'), { uid: 42, gid: 0, additionalGids: [], home: '/' });
    assert.deepEqual(resolveUser(root, '42:7'), { uid: 42, gid: 7, additionalGids: [], home: '/' });
    assert.throws(() => resolveUser(root, 'app'), /unable to find user app: no matching entries in passwd file/);
    assert.throws(() => resolveUser(root, '42:staff'), /unable to find group staff: no matching entries in group file/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
