// Per-instruction lowering: RUN argv (shell/exec/SHELL/heredocs), COPY/ADD, WORKDIR, config
// instructions and the history strings BuildKit writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError } from '../errors.js';
import { createdBy, plan, runs, stageOf } from './test-support.js';
import { goClean, mountTarget, normalizeWorkdir, pathRelativeToWorkingDir } from './paths.js';
import type { CopyStep, MkdirStep, RunStep } from './types.js';

test('RUN argv: shell form, exec form, SHELL, Windows default shell', async () => {
  const { plan: p } = await plan(`FROM scratch
RUN echo "a  b" && ls
RUN ["/bin/echo", "x y"]
SHELL ["/bin/bash", "-eo", "pipefail", "-c"]
RUN set -x; echo $HOME
`);
  const r = runs(stageOf(p));
  assert.deepEqual(r[0]!.argv, ['/bin/sh', '-c', 'echo "a  b" && ls']);
  assert.deepEqual(r[1]!.argv, ['/bin/echo', 'x y']);
  assert.deepEqual(r[2]!.argv, ['/bin/bash', '-eo', 'pipefail', '-c', 'set -x; echo $HOME']);
  assert.deepEqual(createdBy(stageOf(p)), [
    'RUN /bin/sh -c echo "a  b" && ls # buildkit',
    'RUN /bin/echo x y # buildkit',
    'SHELL [/bin/bash -eo pipefail -c]',
    'RUN /bin/bash -eo pipefail -c set -x; echo $HOME # buildkit',
  ]);
  const win = await plan('FROM mcr/windows\nRUN dir\n', { images: { 'mcr/windows': { platform: { os: 'windows', architecture: 'amd64' } } } });
  assert.deepEqual(runs(stageOf(win.plan))[0]!.argv, ['cmd', '/S', '/C', 'dir']);
});

test('RUN heredocs folded like BuildKit: shebang file, simple body, complex command', async () => {
  const { plan: p } = await plan(`FROM scratch
RUN <<EOF
#!/usr/bin/env python3
print("hi")
EOF
RUN <<-EOT
\techo one
\techo two
EOT
RUN python3 <<PY > out.txt
print(1)
PY
`);
  const [a, b, c] = runs(stageOf(p));
  assert.deepEqual(a!.argv, ['/bin/sh', '-c', '/dev/pipes/EOF']);
  assert.deepEqual(a!.files, [{ path: '/dev/pipes/EOF', content: '#!/usr/bin/env python3\nprint("hi")\n', mode: 0o755 }]);
  assert.equal(a!.display, 'RUN <<EOF (#!/usr/bin/env python3...)');
  assert.deepEqual(b!.argv, ['/bin/sh', '-c', 'echo one\necho two\n']);
  assert.deepEqual(b!.files, []);
  assert.deepEqual(c!.argv, ['/bin/sh', '-c', 'python3 <<PY > out.txt\nprint(1)\nPY']);
});

test('RUN env, cwd, user, network/security; display expands variables keeping quotes', async () => {
  const { plan: p } = await plan(`FROM scratch
ENV NAME=world
WORKDIR /w
USER 1000:1000
RUN --network=none --security=sandbox echo "hello $NAME" $UNSET
`);
  const r = runs(stageOf(p))[0]!;
  assert.deepEqual(r.env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'NAME=world']);
  assert.equal(r.cwd, '/w');
  assert.equal(r.user, '1000:1000');
  assert.equal(r.network, 'none');
  assert.equal(r.security, 'sandbox');
  assert.equal(r.display, 'RUN --network=none --security=sandbox echo "hello world" $UNSET');
  // kiln cannot grant what --security=insecure asks (all capabilities, no seccomp): it says so
  await assert.rejects(
    plan('FROM scratch\nRUN --security=insecure echo hi\n'),
    (e: KilnError) => e.code === 'INVALID_FLAG' && /--security=insecure is not supported/.test(e.message) && e.location?.[0]?.startLine === 2,
  );
});

test('--add-host, --shm-size, --ulimit and --cgroup-parent reach every RUN of every stage, and only RUN steps; none given = no field', async () => {
  const hosts = [{ host: 'db', ip: '10.0.0.5' }, { host: 'v6', ip: '2001:db8::1' }];
  const text = 'FROM scratch AS a\nRUN one\nFROM a\nCOPY x /x\nRUN two\n';
  const ulimits = [{ name: 'nofile', soft: 10, hard: 20 }];
  const container = { extraHosts: hosts, shmSizeBytes: 1 << 27, ulimits, cgroupParent: 'builds' };
  const { plan: p } = await plan(text, { runContainer: container });
  const all = p.stages.flatMap((st) => st.steps);
  assert.deepEqual(all.filter((s) => s.kind === 'run').map((s) => (s as RunStep).container), [container, container]);
  assert.ok(all.filter((s) => s.kind !== 'run').every((s) => !('container' in s)));
  // without the flags (or with none set) the steps are what they were (their cache keys too)
  for (const o of [{}, { runContainer: {} }]) {
    const { plan: q } = await plan(text, o);
    assert.ok(q.stages.flatMap((st) => st.steps).every((s) => !('container' in s)));
  }
});

test('build env order follows BuildKit EnvList: a re-set key moves last; config Env replaces in place', async () => {
  const { plan: p } = await plan(`FROM scratch
ENV A=1 B=2
ENV A=3
RUN x
`);
  const s = stageOf(p);
  assert.deepEqual(runs(s)[0]!.env.slice(1), ['B=2', 'A=3']);
  assert.deepEqual(s.config.config!.Env!.slice(1), ['A=3', 'B=2']);
});

test('ENV values expand with the env before the instruction (same-line references see the old value)', async () => {
  const { plan: p } = await plan(`FROM scratch
ENV A=old
ENV A=new B=$A
`);
  assert.deepEqual(stageOf(p).config.config!.Env!.slice(1), ['A=new', 'B=old']);
});

test('COPY/ADD destination resolution against WORKDIR', async () => {
  const { plan: p } = await plan(`FROM scratch
COPY a .
WORKDIR /app
COPY a .
COPY a ./
COPY a b
COPY a b/
COPY a /abs//x/
COPY a sub/.
COPY --chown=1:1 --chmod=0644 --link --exclude=*.md a b ./dir/
ADD --checksum=sha256:abc https://example.com/f.tgz /f.tgz
ADD --keep-git-dir=true git@github.com:moby/buildkit.git /src
`);
  const copies = stageOf(p).steps.filter((s): s is CopyStep => s.kind === 'copy');
  assert.deepEqual(copies.map((c) => c.dest), ['/', '/app/', '/app/', '/app/b', '/app/b/', '/abs//x/', '/app/sub/.', '/app/dir/', '/f.tgz', '/src']);
  const flags = copies[7]!;
  assert.equal(flags.chown, '1:1');
  assert.equal(flags.chmod, '0644');
  assert.equal(flags.link, true);
  assert.deepEqual(flags.excludes, ['*.md']);
  assert.deepEqual(flags.sources, ['a', 'b']);
  assert.equal(flags.createdBy, 'COPY --chown=1:1 --chmod=0644 a b ./dir/ # buildkit');
  assert.equal(copies[8]!.add, true);
  assert.equal(copies[8]!.checksum, 'sha256:abc');
  assert.equal(copies[9]!.keepGitDir, true);
});

test('COPY with heredoc sources expands unquoted bodies with the raw lexer (quotes kept)', async () => {
  const { plan: p } = await plan(`FROM scratch
ARG WHO=you
COPY <<EOF <<"RAW" /etc/
hello "$WHO"
EOF
raw $WHO
RAW
`);
  const c = stageOf(p).steps[0] as CopyStep;
  assert.deepEqual(c.inline, [{ path: 'EOF', data: 'hello "you"\n' }, { path: 'RAW', data: 'raw $WHO\n' }]);
  assert.equal(c.createdBy, 'COPY <<EOF <<RAW /etc/ # buildkit');
});

test('COPY source checks: URL or git for COPY, bad chmod, checksum rules', async () => {
  for (const [line, msg] of [
    ['COPY https://example.com/x /x', "source can't be a URL for COPY"],
    ['COPY --chmod=999 a /x', "invalid chmod parameter: '999'. it should be octal string and between 0 and 07777"],
    ['COPY --chmod=17777 a /x', "invalid chmod parameter: '17777'. it should be octal string and between 0 and 07777"],
    ['ADD --checksum=sha256:00 a b /x/', "checksum can't be specified for multiple sources"],
    ['ADD --checksum=sha256:00 local.tar /x/', "checksum can't be specified for non-HTTP sources"],
    ['ADD --checksum=sha256:00 https://example.com/r.git#main /x/', "checksum can't be specified for non-HTTP sources"],
  ] as const) {
    await assert.rejects(plan(`FROM scratch\n${line}\n`), (e: KilnError) => e.message === msg && e.location?.[0]?.startLine === 2, line);
  }
  await plan('FROM scratch\nCOPY --chmod=u+rwx,go=rx a /x\n');
});

test('WORKDIR: relative to the previous one, mkdir step unless "/", history strings', async () => {
  const { plan: p } = await plan(`FROM scratch
WORKDIR /
WORKDIR app
WORKDIR ../srv/./x
USER app
WORKDIR $HOME_UNSET/y
`);
  const s = stageOf(p);
  const mk = s.steps.filter((x): x is MkdirStep => x.kind === 'workdir');
  assert.deepEqual(mk.map((m) => [m.path, m.user]), [['/app', ''], ['/srv/x', ''], ['/y', 'app']]);
  assert.deepEqual(createdBy(s), ['WORKDIR /', 'WORKDIR /app', 'WORKDIR /srv/x', 'USER app', 'WORKDIR /y']);
  assert.deepEqual(s.history.map((h) => h.entry.empty_layer ?? false), [true, false, false, true, false]);
  assert.deepEqual(s.history.map((h) => h.step), [undefined, 0, 1, undefined, 2]);
  assert.equal(s.config.config!.WorkingDir, '/y');
});

test('path helpers match BuildKit/Go', () => {
  assert.equal(goClean('a/../../b/./c/'), '../b/c');
  assert.equal(goClean('/../x'), '/x');
  assert.equal(normalizeWorkdir('', 'app'), '/app');
  assert.equal(normalizeWorkdir('/a', ''), '/a');
  assert.equal(normalizeWorkdir('/a', '/b/'), '/b/');
  assert.equal(normalizeWorkdir('app', 'app'), '/app/app');
  assert.equal(pathRelativeToWorkingDir('/', ''), '/');
  assert.equal(pathRelativeToWorkingDir('/w', 'x/../y/'), '/w/y/');
  assert.equal(pathRelativeToWorkingDir('/w', '.'), '/w/');
  assert.equal(mountTarget('/w', 'c'), '/w/c');
  assert.equal(mountTarget('/w', '/abs/../t'), '/abs/../t');
});

test('config instructions: EXPOSE, LABEL, VOLUME, STOPSIGNAL, MAINTAINER, HEALTHCHECK, SHELL history + config', async () => {
  const { plan: p } = await plan(`FROM scratch
ARG PORT=8080
EXPOSE 80 $PORT/udp 9000-9002/TCP
LABEL a=b "c d"="e f"
VOLUME /data /logs
STOPSIGNAL SIGQUIT
MAINTAINER Jane <j@example.com>
HEALTHCHECK --interval=30s --retries=3 CMD curl -f http://localhost/
`, { labels: { 'org.example.cli': 'yes', a: 'overridden' } });
  const s = stageOf(p);
  const c = s.config.config!;
  // BuildKit sorts the raw words ("$PORT/udp" < "80" < "9000-9002/TCP") before expanding them
  assert.deepEqual(Object.keys(c.ExposedPorts!), ['8080/udp', '80/tcp', '9000/tcp', '9001/tcp', '9002/tcp']);
  assert.deepEqual(c.Labels, { a: 'overridden', 'c d': 'e f', 'org.example.cli': 'yes' });
  assert.deepEqual(c.Volumes, { '/data': {}, '/logs': {} });
  assert.equal(c.StopSignal, 'SIGQUIT');
  assert.equal(s.config.author, 'Jane <j@example.com>');
  assert.deepEqual(c.Healthcheck, { Test: ['CMD-SHELL', 'curl -f http://localhost/'], Interval: 30e9, Retries: 3 });
  assert.deepEqual(createdBy(s), [
    'ARG PORT=8080',
    'EXPOSE map[80/tcp:{} 8080/udp:{} 9000/tcp:{} 9001/tcp:{} 9002/tcp:{}]',
    'LABEL a=b c d=e f',
    'VOLUME [/data /logs]',
    'STOPSIGNAL SIGQUIT',
    'MAINTAINER Jane <j@example.com>',
    `HEALTHCHECK &{["CMD-SHELL" "curl -f http://localhost/"] "30s" "0s" "0s" "0s" '\\x03'}`,
  ]);
  assert.ok(s.history.every((h) => h.entry.empty_layer === true && h.entry.comment === 'buildkit.dockerfile.v0'));
  await assert.rejects(plan('FROM scratch\nSTOPSIGNAL SIGNOPE\n'), (e: KilnError) => e.message === 'Invalid signal: SIGNOPE');
  await assert.rejects(plan('FROM scratch\nEXPOSE 80/xtp\n'), (e: KilnError) => e.message === 'invalid port: "80/xtp": invalid proto: xtp');
});

test('EXPOSE history like BuildKit\'s own test (dockerfile_history_test.go)', async () => {
  const { plan: p } = await plan('FROM scratch\nEXPOSE 2375 5000 1234/udp\n');
  assert.deepEqual(createdBy(stageOf(p)), ['EXPOSE map[1234/udp:{} 2375/tcp:{} 5000/tcp:{}]']);
});

test('HEALTHCHECK replaces the inherited one (BuildKit does not merge); NONE disables', async () => {
  const { plan: p } = await plan('FROM base\nHEALTHCHECK --timeout=5s CMD ["check"]\n', {
    images: { base: { config: { Healthcheck: { Test: ['CMD', 'old'], Interval: 10e9, Retries: 5 } } } },
  });
  assert.deepEqual(stageOf(p).config.config!.Healthcheck, { Test: ['CMD', 'check'], Timeout: 5e9 });
  const none = await plan('FROM base\nHEALTHCHECK NONE\n', { images: { base: { config: { Healthcheck: { Test: ['CMD', 'old'] } } } } });
  assert.deepEqual(none.plan.stages[0]!.config.config!.Healthcheck, { Test: ['NONE'] });
});

test('CMD/ENTRYPOINT: shell form wrapped, ENTRYPOINT resets an inherited CMD unless CMD came first in this stage', async () => {
  const images = { base: { config: { Cmd: ['bash'], Entrypoint: ['/init'] } } };
  const a = await plan('FROM base\nENTRYPOINT ["/app"]\n', { images });
  assert.equal(stageOf(a.plan).config.config!.Cmd, undefined);
  assert.deepEqual(stageOf(a.plan).config.config!.Entrypoint, ['/app']);
  const b = await plan('FROM base\nCMD ["--help"]\nENTRYPOINT /app run\n', { images });
  const cb = stageOf(b.plan).config.config!;
  assert.deepEqual(cb.Cmd, ['--help']);
  assert.deepEqual(cb.Entrypoint, ['/bin/sh', '-c', '/app run']);
  assert.equal(cb.ArgsEscaped, true);
  assert.deepEqual(createdBy(stageOf(b.plan)), ['CMD ["--help"]', 'ENTRYPOINT ["/bin/sh" "-c" "/app run"]']);
  const c = await plan('FROM base\nENTRYPOINT []\n', { images });
  assert.equal(stageOf(c.plan).config.config!.Entrypoint, undefined);
  const d = await plan('FROM base\nRUN x\n', { images });
  assert.deepEqual(stageOf(d.plan).config.config!.Cmd, ['bash']);
});

test('base config is inherited: Env (+PATH when missing), WorkingDir, User, Shell, Labels...', async () => {
  const { plan: p } = await plan('FROM base\nRUN x\n', {
    images: { base: { config: { Env: ['LANG=C'], WorkingDir: 'rel', User: 'u', Shell: ['/bin/ash', '-c'], Labels: { l: '1' }, StopSignal: 'SIGINT', Volumes: { '/v': {} } } } },
  });
  const s = stageOf(p);
  const c = s.config.config!;
  assert.deepEqual(c.Env, ['LANG=C', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
  assert.equal(c.WorkingDir, '/rel/rel'); // BuildKit normalises the inherited WORKDIR against itself
  const r = runs(s)[0]!;
  assert.deepEqual(r.argv, ['/bin/ash', '-c', 'x']);
  assert.equal(r.user, 'u');
  assert.deepEqual(Object.keys(c), ['User', 'Env', 'Volumes', 'WorkingDir', 'Labels', 'StopSignal', 'Shell']);
});

test('final ImageConfig: platform from the stage, empty rootfs, keys in Go order, scratch WorkingDir "/"', async () => {
  const { plan: p } = await plan('FROM --platform=linux/arm64 alpine\nCMD ["sh"]\n');
  const cfg = stageOf(p).config;
  assert.deepEqual(Object.keys(cfg), ['architecture', 'os', 'variant', 'config', 'rootfs', 'history']);
  assert.equal(cfg.architecture, 'arm64');
  assert.equal(cfg.variant, 'v8');
  assert.deepEqual(cfg.rootfs, { type: 'layers', diff_ids: [] });
  const s = await plan('FROM scratch\n');
  assert.deepEqual(s.plan.stages[0]!.config.config, { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], WorkingDir: '/' });
});

test('escape directive: backtick escapes in expansions', async () => {
  const { plan: p } = await plan('# escape=`\nFROM scratch\nENV A=x`$B\nWORKDIR C:`\n');
  assert.deepEqual(stageOf(p).config.config!.Env!.at(-1), 'A=x$B');
});

test('the node-app example plans like BuildKit', async () => {
  const text = readFileSync(join(process.cwd(), 'examples/node-app/Dockerfile'), 'utf8');
  const { plan: p, resolver } = await plan(text, { images: { 'node:20': { config: { Env: ['PATH=/usr/local/bin:/usr/bin', 'NODE_VERSION=20'], Cmd: ['node'], Entrypoint: ['docker-entrypoint.sh'] } }, 'node:20-slim': { config: { Env: ['PATH=/usr/local/bin:/usr/bin'], Cmd: ['node'] } } } });
  assert.deepEqual(resolver.refs(), ['node:20', 'node:20-slim']);
  assert.deepEqual(p.stages.map((s) => s.name), ['builder', 'stage-1']);
  const [b, f] = p.stages;
  assert.deepEqual(createdBy(b!), [
    'WORKDIR /app',
    'COPY package.json package-lock.json ./ # buildkit',
    'RUN /bin/sh -c npm ci # buildkit',
    'COPY tsconfig.json ./ # buildkit',
    'COPY src ./src # buildkit',
    'RUN /bin/sh -c npm run build # buildkit',
  ]);
  assert.deepEqual(createdBy(f!), [
    'WORKDIR /app',
    'COPY /app/dist ./dist # buildkit',
    'COPY /app/package.json /app/package-lock.json ./ # buildkit',
    'RUN /bin/sh -c npm install --omit=dev # buildkit',
    'EXPOSE map[3000/tcp:{}]',
    'CMD ["node" "dist/server.js"]',
  ]);
  const copies = f!.steps.filter((s): s is CopyStep => s.kind === 'copy');
  assert.deepEqual(copies.map((c) => [c.from, c.dest]), [[{ kind: 'stage', stage: 0 }, '/app/dist'], [{ kind: 'stage', stage: 0 }, '/app/']]);
  assert.equal(copies[0]!.display, 'COPY --from=builder /app/dist ./dist');
  assert.deepEqual(f!.config.config, { ExposedPorts: { '3000/tcp': {} }, Env: ['PATH=/usr/local/bin:/usr/bin'], Cmd: ['node', 'dist/server.js'], WorkingDir: '/app', ArgsEscaped: true });
  assert.deepEqual(f!.dependsOn, [0]);
  assert.deepEqual(runs(b!)[0]!.cwd, '/app');
});
