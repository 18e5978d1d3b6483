// Git reference parsing against BuildKit v0.13's own answers (util/gitutil git_ref_test.go and
// git_url_test.go), plus what kiln adds on top: which ADD sources are Git, commit ids, redaction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gitSourceRef, isCommitSha, parseGitRef, parseGitUrl, redactCredentials } from './git-ref.js';

type Expected = { remote: string; shortName: string; commit?: string; subDir?: string; local?: boolean; unencrypted?: boolean } | undefined;

test('parseGitRef: BuildKit v0.13 TestParseGitRef', () => {
  const cases: [string, Expected][] = [
    ['https://example.com/', undefined],
    ['https://example.com/foo', undefined],
    ['https://example.com/foo.git', { remote: 'https://example.com/foo.git', shortName: 'foo' }],
    ['https://example.com/foo.git#deadbeef', { remote: 'https://example.com/foo.git', shortName: 'foo', commit: 'deadbeef' }],
    ['https://example.com/foo.git#release/1.2', { remote: 'https://example.com/foo.git', shortName: 'foo', commit: 'release/1.2' }],
    ['https://example.com/foo.git/', undefined],
    ['https://example.com/foo.git.bar', undefined],
    ['git://example.com/foo', { remote: 'git://example.com/foo', shortName: 'foo', unencrypted: true }],
    ['github.com/moby/buildkit', { remote: 'github.com/moby/buildkit', shortName: 'buildkit', local: true }],
    ['custom.xyz/moby/buildkit.git', { remote: 'https://custom.xyz/moby/buildkit.git', shortName: 'buildkit' }],
    ['https://github.com/moby/buildkit', undefined],
    ['https://github.com/moby/buildkit.git', { remote: 'https://github.com/moby/buildkit.git', shortName: 'buildkit' }],
    ['https://foo:bar@github.com/moby/buildkit.git', { remote: 'https://foo:bar@github.com/moby/buildkit.git', shortName: 'buildkit' }],
    ['git@github.com:moby/buildkit', { remote: 'git@github.com:moby/buildkit', shortName: 'buildkit' }],
    ['git@github.com:moby/buildkit.git', { remote: 'git@github.com:moby/buildkit.git', shortName: 'buildkit' }],
    ['git@bitbucket.org:atlassianlabs/atlassian-docker.git', { remote: 'git@bitbucket.org:atlassianlabs/atlassian-docker.git', shortName: 'atlassian-docker' }],
    ['https://github.com/foo/bar.git#baz/qux:quux/quuz', { remote: 'https://github.com/foo/bar.git', shortName: 'bar', commit: 'baz/qux', subDir: 'quux/quuz' }],
    ['http://github.com/docker/docker.git:#branch', undefined],
    ['https://github.com/docker/docker.git#:myfolder', { remote: 'https://github.com/docker/docker.git', shortName: 'docker', subDir: 'myfolder' }],
    ['./.git', undefined],
    ['.git', undefined],
  ];
  for (const [ref, want] of cases) {
    const got = parseGitRef(ref);
    if (want === undefined) {
      assert.equal(got, undefined, ref);
      continue;
    }
    assert.ok(got, ref);
    assert.deepEqual(
      { remote: got.remote, shortName: got.shortName, commit: got.commit, subDir: got.subDir, local: got.indistinguishableFromLocal, unencrypted: got.unencryptedTCP },
      { commit: '', subDir: '', local: false, unencrypted: false, ...want },
      ref,
    );
  }
});

test('parseGitUrl: BuildKit v0.13 TestParseURL (scheme, host, path, fragment, user)', () => {
  const cases: [string, { scheme: string; host: string; path: string; ref?: string; subdir?: string; user?: string } | 'error'][] = [
    ['http://github.com/moby/buildkit', { scheme: 'http', host: 'github.com', path: '/moby/buildkit' }],
    ['https://github.com/moby/buildkit', { scheme: 'https', host: 'github.com', path: '/moby/buildkit' }],
    ['http://github.com/moby/buildkit#v1.0.0', { scheme: 'http', host: 'github.com', path: '/moby/buildkit', ref: 'v1.0.0' }],
    ['http://github.com/moby/buildkit#v1.0.0:subdir', { scheme: 'http', host: 'github.com', path: '/moby/buildkit', ref: 'v1.0.0', subdir: 'subdir' }],
    ['http://foo:bar@github.com/moby/buildkit#v1.0.0', { scheme: 'http', host: 'github.com', path: '/moby/buildkit', ref: 'v1.0.0', user: 'foo' }],
    ['ssh://git@github.com/moby/buildkit.git', { scheme: 'ssh', host: 'github.com', path: '/moby/buildkit.git', user: 'git' }],
    ['ssh://git@github.com:22/moby/buildkit.git', { scheme: 'ssh', host: 'github.com:22', path: '/moby/buildkit.git', user: 'git' }],
    ['git@github.com:moby/buildkit.git', { scheme: 'ssh', host: 'github.com', path: 'moby/buildkit.git', user: 'git' }],
    ['git@github.com:moby/buildkit.git#v1.0.0', { scheme: 'ssh', host: 'github.com', path: 'moby/buildkit.git', ref: 'v1.0.0', user: 'git' }],
    ['git@github.com:moby/buildkit.git#v1.0.0:hack', { scheme: 'ssh', host: 'github.com', path: 'moby/buildkit.git', ref: 'v1.0.0', subdir: 'hack', user: 'git' }],
    ['nonstandarduser@example.com:/srv/repos/weird/project.git', { scheme: 'ssh', host: 'example.com', path: '/srv/repos/weird/project.git', user: 'nonstandarduser' }],
    ['ssh://root@subdomain.example.hostname:2222/root/my/really/weird/path/foo.git', { scheme: 'ssh', host: 'subdomain.example.hostname:2222', path: '/root/my/really/weird/path/foo.git', user: 'root' }],
    ['git://host.xz:1234/path/to/repo.git', { scheme: 'git', host: 'host.xz:1234', path: '/path/to/repo.git' }],
    ['ssh://someuser@192.168.0.123:456/~/repo-in-my-home-dir.git', { scheme: 'ssh', host: '192.168.0.123:456', path: '/~/repo-in-my-home-dir.git', user: 'someuser' }],
    ['httpx://github.com/moby/buildkit', 'error'],
    ['HTTP://github.com/moby/buildkit', { scheme: 'http', host: 'github.com', path: '/moby/buildkit' }],
  ];
  for (const [url, want] of cases) {
    const got = parseGitUrl(url);
    if (want === 'error') {
      assert.equal(typeof got, 'string', url);
      continue;
    }
    assert.ok(typeof got !== 'string', url);
    assert.deepEqual(
      { scheme: got.scheme, host: got.host, path: got.path, ref: got.fragment?.ref, subdir: got.fragment?.subdir, user: got.user },
      { ref: undefined, subdir: want.ref !== undefined ? '' : undefined, user: undefined, ...want },
      url,
    );
  }
});

test('parseGitUrl: the remote git is given has no fragment, a lower-case scheme, the path as written', () => {
  const remote = (u: string): string | undefined => {
    const r = parseGitUrl(u);
    return typeof r === 'string' ? undefined : r.remote;
  };
  assert.equal(remote('HTTPS://example.com/a%20b.git#main'), 'https://example.com/a%20b.git');
  assert.equal(remote('git://127.0.0.1:9418/repo.git?x=1#v1:sub'), 'git://127.0.0.1:9418/repo.git?x=1');
  assert.equal(remote('https://example.com/a b.git'), 'https://example.com/a%20b.git'); // Go re-escapes
  assert.equal(remote('https://example.com:port/r.git'), undefined); // invalid port
  assert.equal(remote('https://exa mple.com/r.git'), undefined); // invalid host
  assert.equal(remote('https://example.com/r.git#%zz'), undefined); // invalid escape in the fragment
  assert.equal(parseGitUrl('example.com/r.git'), 'unknown-protocol');
  assert.equal(parseGitUrl('file:///srv/r.git'), 'invalid');
  // the deprecated github.com form keeps '#' in its path, escaped (no fragment is parsed)
  assert.deepEqual(parseGitRef('github.com/moby/buildkit#main')?.remote, 'github.com/moby/buildkit%23main');
  // the first ':' of a fragment splits ref and subdir
  assert.deepEqual([parseGitRef('git://h/r#main:a:b')?.commit, parseGitRef('git://h/r#main:a:b')?.subDir], ['main', 'a:b']);
});

test('gitSourceRef: ADD/COPY sources are Git with an explicit transport only (BuildKit 0.14 restriction)', () => {
  for (const s of ['https://example.com/r.git', 'http://127.0.0.1:8080/r.git#v1:docs', 'git://127.0.0.1/r', 'ssh://git@example.com/r.git', 'git@example.com:org/r.git#main']) {
    assert.ok(gitSourceRef(s), s);
  }
  // BuildKit 0.13 reads these as https:// Git URLs; kiln (and BuildKit 0.14+) copies the local path
  for (const s of ['vendor/lib.git', 'custom.xyz/moby/buildkit.git', '/abs/repo.git', 'github.com/moby/buildkit', './x.git', 'https://example.com/archive.tar.gz', 'file:///r.git', 'local.txt']) {
    assert.equal(gitSourceRef(s), undefined, s);
  }
});

test('isCommitSha and redactCredentials', () => {
  assert.ok(isCommitSha('0123456789abcdef0123456789abcdef01234567'));
  assert.ok(!isCommitSha('0123456789ABCDEF0123456789abcdef01234567'));
  assert.ok(!isCommitSha('0123456'));
  assert.equal(redactCredentials('https://user:pw@example.com/r.git'), 'https://xxxxx:xxxxx@example.com/r.git');
  assert.equal(redactCredentials('https://token@example.com/r.git'), 'https://xxxxx@example.com/r.git');
  assert.equal(redactCredentials('ssh://git@example.com/r.git'), 'ssh://xxxxx@example.com/r.git');
  assert.equal(redactCredentials('git@example.com:r.git'), 'git@example.com:r.git');
  assert.equal(redactCredentials('git://127.0.0.1/r.git'), 'git://127.0.0.1/r.git');
});
