// What the user sees when a build can't start: broken Dockerfiles and bad invocations of
// `kiln build` through the real CLI, each with the exact message (file:line, the offending line
// marked `>>>`, the advice) and exit code (1: the build failed, 125: kiln was called wrongly).
// All of these fail before any RUN, so no runtime or base image is needed: bases are `scratch`.
// Unknown images use --pull=never: tests never reach for a registry other than one on 127.0.0.1.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runKiln } from './helpers/cli.js';

const TMP = mkdtempSync(join(tmpdir(), 'kiln-errors-'));
const KILN_ROOT = join(TMP, 'root');
after(() => rmSync(TMP, { recursive: true, force: true }));

let n = 0;
/** A fresh context directory holding `dockerfile` as ./Dockerfile (unless undefined). */
function context(dockerfile: string | Buffer | undefined): string {
  const dir = join(TMP, `ctx${n++}`);
  mkdirSync(dir);
  if (dockerfile !== undefined) writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  return dir;
}

interface Case {
  readonly name: string;
  readonly dockerfile?: string | Buffer;
  /** Arguments after `kiln`; `{ctx}` is replaced by the context directory. */
  readonly args?: readonly string[];
  readonly code: number;
  /** The exact stderr; `{ctx}` is replaced by the context directory. */
  readonly stderr: string;
}

const build = (...extra: string[]): string[] => ['build', '--progress', 'plain', ...extra, '{ctx}'];

const CASES: readonly Case[] = [
  {
    name: 'unknown instruction (with did-you-mean)',
    dockerfile: 'FROM scratch\nRUNN echo hi\n',
    code: 1,
    stderr: `Dockerfile:2
--------------------
 1 |     FROM scratch
 2 | >>> RUNN echo hi
--------------------
ERROR: Dockerfile:2: unknown instruction: RUNN
hint: did you mean RUN?
`,
  },
  {
    name: 'unknown flag on COPY (with did-you-mean)',
    dockerfile: 'FROM scratch\nCOPY --chmown=1 a /b\n',
    code: 1,
    stderr: `Dockerfile:2
--------------------
 1 |     FROM scratch
 2 | >>> COPY --chmown=1 a /b
--------------------
ERROR: Dockerfile:2: unknown flag: --chmown
hint: did you mean --chown?
`,
  },
  {
    name: 'bad --mount type',
    dockerfile: 'FROM scratch\nRUN --mount=type=bogus,target=/x true\n',
    code: 1,
    stderr: `Dockerfile:2
--------------------
 1 |     FROM scratch
 2 | >>> RUN --mount=type=bogus,target=/x true
--------------------
ERROR: Dockerfile:2: --mount=type=bogus,target=/x: unsupported mount type "bogus"
hint: use one of bind, cache, tmpfs, secret, ssh
`,
  },
  {
    name: 'bad --mount sharing value',
    dockerfile: 'FROM scratch\nRUN --mount=type=cache,target=/x,sharing=bogus true\n',
    code: 1,
    stderr: `Dockerfile:2
--------------------
 1 |     FROM scratch
 2 | >>> RUN --mount=type=cache,target=/x,sharing=bogus true
--------------------
ERROR: Dockerfile:2: --mount=type=cache,target=/x,sharing=bogus: unsupported sharing value "bogus"
hint: use one of shared, private, locked
`,
  },
  {
    name: 'unterminated heredoc',
    dockerfile: 'FROM scratch\nRUN <<EOF\necho hi\n',
    code: 1,
    stderr: `Dockerfile:2-3
--------------------
 1 |     FROM scratch
 2 | >>> RUN <<EOF
 3 | >>> echo hi
--------------------
ERROR: Dockerfile:2: unterminated heredoc
hint: end the heredoc <<EOF with a line containing only EOF
`,
  },
  {
    name: 'ENV without a value',
    dockerfile: 'FROM scratch\nENV FOO\n',
    code: 1,
    stderr: `Dockerfile:2
--------------------
 1 |     FROM scratch
 2 | >>> ENV FOO
--------------------
ERROR: Dockerfile:2: ENV must have two arguments
hint: write ENV FOO=value
`,
  },
  {
    name: 'instruction before the first FROM',
    dockerfile: 'RUN true\nFROM scratch\n',
    code: 1,
    stderr: `Dockerfile:1
--------------------
 1 | >>> RUN true
 2 |     FROM scratch
--------------------
ERROR: Dockerfile:1: no build stage in current context: RUN comes before the first FROM
hint: start the Dockerfile with FROM <image>; only ARG may come before the first FROM
`,
  },
  {
    name: '--target typo (with did-you-mean)',
    dockerfile: 'FROM scratch AS builder\nFROM scratch AS final\n',
    args: build('--target', 'buildr'),
    code: 1,
    stderr: `ERROR: target stage "buildr" could not be found
hint: did you mean builder?
`,
  },
  {
    name: 'COPY --from typo: an image to BuildKit, but the hint names the stage',
    dockerfile: 'FROM scratch AS builder\nFROM scratch\nCOPY --from=buildr /a /b\n',
    args: build('--pull=never'),
    code: 1,
    stderr: `Dockerfile:3
--------------------
 1 |     FROM scratch AS builder
 2 |     FROM scratch
 3 | >>> COPY --from=buildr /a /b
--------------------
ERROR: Dockerfile:3: buildr: image not found in the local store
stage: stage-1
hint: did you mean stage builder?
`,
  },
  {
    name: 'FROM typo of a stage name',
    dockerfile: 'FROM scratch AS builder\nFROM buildr\n',
    args: build('--pull=never'),
    code: 1,
    stderr: `Dockerfile:2
--------------------
 1 |     FROM scratch AS builder
 2 | >>> FROM buildr
--------------------
ERROR: Dockerfile:2: buildr: image not found in the local store
stage: stage-1
hint: did you mean stage builder?
`,
  },
  {
    name: 'unknown base image',
    dockerfile: 'FROM nosuchimage:1.0\nRUN true\n',
    args: build('--pull=never'),
    code: 1,
    stderr: `Dockerfile:1
--------------------
 1 | >>> FROM nosuchimage:1.0
 2 |     RUN true
--------------------
ERROR: Dockerfile:1: nosuchimage:1.0: image not found in the local store
stage: stage-0
hint: load it first (kiln load / kiln import / kiln pull)
`,
  },
  {
    name: 'circular stage dependency',
    dockerfile: 'FROM scratch AS a\nCOPY --from=b /x /x\nFROM scratch AS b\nCOPY --from=a /y /y\n',
    code: 1,
    // the COPY that closes the cycle, as Docker 26 shows it (test/conformance err-copy-from-circular)
    stderr: `Dockerfile:4
--------------------
 2 |     COPY --from=b /x /x
 3 |     FROM scratch AS b
 4 | >>> COPY --from=a /y /y
--------------------
ERROR: Dockerfile:4: circular dependency detected on stage: a
stage: b
hint: stage a copies or mounts from b, b from a: a stage cannot copy or mount from itself or from a stage that depends on it
`,
  },
  {
    name: 'a Dockerfile that is not UTF-8 (never silently U+FFFD)',
    dockerfile: Buffer.from('FROM scratch\nLABEL a=\xff\n', 'latin1'),
    code: 1,
    stderr: `Dockerfile:2
--------------------
 1 |     FROM scratch
 2 | >>> LABEL a=\ufffd
--------------------
ERROR: Dockerfile:2: the line is not valid UTF-8 (byte 0xff at column 9)
hint: save the Dockerfile as UTF-8 (a Dockerfile is UTF-8 text)
`,
  },
  {
    name: 'a NUL byte in a Dockerfile',
    dockerfile: 'FROM scratch\nRUN echo a\0b\n',
    code: 1,
    stderr: `Dockerfile:2
--------------------
 1 |     FROM scratch
 2 | >>> RUN echo a\u2400b
--------------------
ERROR: Dockerfile:2: the line holds a NUL byte (at column 11)
hint: is this a binary file? A Dockerfile is text and cannot hold NUL bytes
`,
  },
  {
    name: 'an image reference that cannot be parsed',
    dockerfile: 'FROM busybox:::\n',
    code: 1,
    stderr: `Dockerfile:1
--------------------
 1 | >>> FROM busybox:::
--------------------
ERROR: Dockerfile:1: failed to parse stage name "busybox:::": invalid reference format: not a valid image reference
stage: stage-0
hint: an image reference looks like [registry[:port]/]name[:tag][@sha256:digest], with a lowercase name
`,
  },
  {
    name: 'missing Dockerfile (-f)',
    dockerfile: undefined,
    args: build('-f', '{ctx}/nope.Dockerfile'),
    code: 1,
    stderr: `ERROR: failed to read dockerfile: open {ctx}/nope.Dockerfile: no such file or directory
hint: pass the Dockerfile with -f, or put one at the root of the context
`,
  },
  {
    name: '-f naming a directory',
    dockerfile: 'FROM scratch\n',
    args: build('-f', '{ctx}'),
    code: 1,
    stderr: `ERROR: failed to read dockerfile: read {ctx}: is a directory
hint: -f takes the Dockerfile itself, not its directory
`,
  },
  {
    name: 'a file as the context',
    dockerfile: 'FROM scratch\n',
    args: ['build', '{ctx}/Dockerfile'],
    code: 1,
    stderr: `ERROR: unable to prepare context: context must be a directory: {ctx}/Dockerfile
hint: pass the directory that holds the Dockerfile (\`kiln build .\`), or name the Dockerfile with -f
`,
  },
  {
    name: 'missing context directory',
    args: ['build', '{ctx}/does-not-exist'],
    code: 1,
    stderr: `ERROR: unable to prepare context: path "{ctx}/does-not-exist" not found
hint: pass the build context directory, e.g. \`kiln build .\`
`,
  },
  {
    name: 'bad --build-arg (empty name)',
    dockerfile: 'FROM scratch\n',
    args: build('--build-arg', '=x'),
    code: 125,
    stderr: 'ERROR: invalid --build-arg "=x": the name is empty\n',
  },
  {
    name: 'unsupported --platform',
    dockerfile: 'FROM scratch\n',
    args: build('--platform', 'linux/s390x'),
    code: 125,
    stderr: `ERROR: --platform linux/s390x: only the native platform (linux/${process.arch === 'arm64' ? 'arm64' : 'amd64'}) can be built
hint: omit --platform, or build on a machine of that platform
`,
  },
  {
    name: 'several platforms at once (buildx syntax) are not implemented, exit 125',
    dockerfile: 'FROM scratch\n',
    args: build('--platform', 'linux/amd64,linux/arm64'),
    code: 125,
    stderr: `ERROR: building several platforms at once (--platform linux/amd64,linux/arm64) is not supported by this version of kiln
hint: kiln builds linux/${process.arch === 'arm64' ? 'arm64' : 'amd64'} only: omit --platform
`,
  },
  {
    name: 'a platform variant of the native architecture',
    dockerfile: 'FROM scratch\n',
    args: build('--platform', `linux/${process.arch === 'arm64' ? 'arm64/v9' : 'amd64/v2'}`),
    code: 125,
    stderr: `ERROR: --platform linux/${process.arch === 'arm64' ? 'arm64/v9' : 'amd64/v2'}: platform variants are not supported yet; kiln builds linux/${process.arch === 'arm64' ? 'arm64' : 'amd64'}
hint: use --platform linux/${process.arch === 'arm64' ? 'arm64' : 'amd64'}, or omit it
`,
  },
  {
    name: 'a malformed --platform is a usage error',
    dockerfile: 'FROM scratch\n',
    args: build('--platform', 'linux//amd64'),
    code: 125,
    stderr: `ERROR: invalid platform "linux//amd64": empty component
hint: use os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8
`,
  },
  {
    name: 'an unsupported input (a git/https --build-context) is loudly not implemented',
    dockerfile: 'FROM scratch\n',
    args: build('--build-context', 'x=https://example.invalid/repo.git'),
    code: 125,
    stderr: `ERROR: --build-context x=https://example.invalid/repo.git: git and https contexts are not supported by this version of kiln
hint: clone or download it into a directory and pass --build-context NAME=DIR
`,
  },
  {
    name: 'a --build-context without NAME=',
    dockerfile: 'FROM scratch\n',
    args: build('--build-context', 'extra'),
    code: 125,
    stderr: `ERROR: invalid --build-context "extra": expected NAME=VALUE
hint: use --build-context NAME=DIR, NAME=docker-image://REF or NAME=oci-layout://PATH[:TAG|@DIGEST]
`,
  },
  {
    name: 'invalid tag name (checked before any work)',
    dockerfile: 'FROM scratch\n',
    args: build('-t', 'Bad:Tag!'),
    code: 125,
    stderr: `ERROR: invalid tag "Bad:Tag!": invalid reference format: repository name (library/Bad) must be lowercase: "Bad:Tag!"
hint: tags look like name[:tag], e.g. -t myapp:1.0
`,
  },
  {
    name: '`kiln build -` with nothing on stdin (not "path not found")',
    dockerfile: 'FROM scratch\n',
    args: ['build', '-'],
    code: 125,
    stderr: `ERROR: standard input is empty: a build context (a tar archive) or a Dockerfile was expected
hint: e.g. \`kiln build - < Dockerfile\` or \`tar -c . | kiln build -\`
`,
  },
  {
    name: 'a Git context over ssh without --ssh default (BuildKit fetches ssh remotes with that agent)',
    dockerfile: 'FROM scratch\n',
    args: ['build', 'git@127.0.0.1:org/repo.git#main'],
    code: 1,
    stderr: `ERROR: no SSH key "default" forwarded from the client: git@127.0.0.1:org/repo.git is an ssh remote
hint: pass --ssh default (your ssh-agent, $SSH_AUTH_SOCK) or --ssh default=KEYFILE
`,
  },
  {
    name: 'an unknown --secret key (buildx refuses it too)',
    dockerfile: 'FROM scratch\n',
    args: build('--secret', 'id=s,env=HOME,bogus=1'),
    code: 125,
    stderr: `ERROR: invalid --secret "id=s,env=HOME,bogus=1": unexpected key 'bogus'
hint: use id=…,src=FILE or id=…,env=VAR (type=file|env)
`,
  },
  {
    name: 'an archive --output whose dest is a directory (checked before any work)',
    dockerfile: 'FROM scratch\n',
    args: build('-o', 'type=oci,dest={ctx}'),
    code: 125,
    stderr: `ERROR: --output type=oci,dest={ctx}: is a directory
hint: dest= names the archive file to write, e.g. dest=image.tar
`,
  },
  {
    name: '--iidfile in a directory that does not exist (checked before any work)',
    dockerfile: 'FROM scratch\n',
    args: build('--iidfile', '{ctx}/no/such/dir/id'),
    code: 125,
    stderr: `ERROR: --iidfile {ctx}/no/such/dir/id: directory {ctx}/no/such/dir does not exist
hint: create the directory first
`,
  },
  {
    name: '--iidfile naming a directory (checked before any work)',
    dockerfile: 'FROM scratch\n',
    args: build('--iidfile', '{ctx}'),
    code: 125,
    stderr: `ERROR: --iidfile {ctx}: is a directory
hint: --iidfile names the file to write, e.g. --iidfile {ctx}/image.id
`,
  },
  {
    name: 'a tag with a digest (docker build refuses it too)',
    dockerfile: 'FROM scratch\n',
    args: build('-t', `a@sha256:${'0'.repeat(64)}`),
    code: 125,
    stderr: `ERROR: invalid tag "a@sha256:${'0'.repeat(64)}": refusing to create a tag with a digest reference
hint: tags look like name[:tag], e.g. -t myapp:1.0; an image gets its digest from its content
`,
  },
  {
    name: 'invalid --progress',
    dockerfile: 'FROM scratch\n',
    args: ['build', '--progress', 'fancy', '{ctx}'],
    code: 125,
    stderr: 'ERROR: invalid --progress "fancy": use auto, tty, plain, rawjson or quiet\n',
  },
  {
    name: '--progress tty when stderr is not a terminal',
    dockerfile: 'FROM scratch\n',
    args: ['build', '--progress', 'tty', '{ctx}'],
    code: 125,
    stderr: `ERROR: --progress tty: stderr is not a terminal
hint: use --progress plain (or auto) when output goes to a file or a pipe
`,
  },
  {
    name: 'unknown flag: kiln build --bogus',
    dockerfile: 'FROM scratch\n',
    args: ['build', '--bogus', '{ctx}'],
    code: 125,
    stderr: "error: unknown option '--bogus'\n",
  },
  {
    name: 'a docker build flag kiln leaves out: the reason and what to do instead',
    dockerfile: 'FROM scratch\n',
    args: ['build', '--load', '{ctx}'],
    code: 125,
    stderr: `error: unknown option '--load'
hint: kiln keeps the image in its own store (kiln images); for Docker, write an archive and load it: kiln build -o type=docker,dest=image.tar … && docker load -i image.tar
`,
  },
  {
    name: 'a flag docker buildx ignores (-m): refused, and the hint says buildx would ignore it',
    dockerfile: 'FROM scratch\n',
    args: ['build', '-m', '1g', '{ctx}'],
    code: 125,
    stderr: `error: unknown option '-m'
hint: kiln does not limit the resources of RUN steps; docker buildx build accepts and ignores this flag, kiln refuses it rather than drop it silently: build without it
`,
  },
  {
    name: '--rm=false: keeping intermediate containers is not supported (a bare --rm is accepted)',
    dockerfile: 'FROM scratch\n',
    args: ['build', '--rm=false', '{ctx}'],
    code: 125,
    stderr: `error: unknown option '--rm=false'
hint: kiln always removes each RUN container when its step ends: --rm and --force-rm take no value, and keeping the containers (--rm=false) is not supported
`,
  },
  {
    name: 'missing PATH argument',
    args: ['build'],
    code: 125,
    stderr: "error: missing required argument 'PATH'\n",
  },
];

for (const c of CASES) {
  test(`error: ${c.name}`, async () => {
    const ctx = context(c.dockerfile);
    const args = (c.args ?? build()).map((a) => a.replaceAll('{ctx}', ctx));
    const r = await runKiln(args, { cwd: ctx, env: { KILN_ROOT, CI: undefined } });
    assert.equal(r.stderr, c.stderr.replaceAll('{ctx}', ctx));
    assert.equal(r.stdout, '');
    assert.equal(r.code, c.code);
  });
}

test('error: unknown command `kiln bogus` exits 125 with commander’s message', async () => {
  const r = await runKiln(['bogus'], { env: { KILN_ROOT } });
  assert.equal(r.code, 125);
  assert.equal(r.stderr.split('\n')[0], "error: unknown command 'bogus'");
  assert.equal(r.stdout, '');
});

test('error: a COPY source path too long for Linux says so, cut short, with what to do', async () => {
  const long = `${'a/'.repeat(2500)}x`;
  const ctx = context(`FROM scratch\nCOPY ${long} /x\n`);
  const r = await runKiln(['build', '--progress', 'plain', ctx], { cwd: ctx, env: { KILN_ROOT, CI: undefined } });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /ERROR: Dockerfile:2: cannot read a file for the cache key: "[^"\n]*\.\.\. \[\d+ more characters\]: file name too long\n/);
  assert.match(r.stderr, /hint: Linux takes at most 255 bytes for one name and 4095 for a whole path/);
  assert.ok(r.stderr.length < 12_000, `${r.stderr.length} characters of error`);
});
