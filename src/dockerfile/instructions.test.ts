// Unit tests of the instruction typing on hand-built nodes (independent of the parser).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KilnError, formatError } from '../errors.js';
import type { Ast, Heredoc, InstructionNode } from './ast.js';
import { parseInstruction } from './instructions.js';
import { findStage, toStages } from './stages.js';
import { expandInstruction } from './expand.js';
import { parseGoDuration } from './duration.js';
import { csvFields, parseMountSpec, ramInBytes, resolveMount } from './mount.js';
import { levenshtein, suggest } from './suggest.js';

let line = 0;
function node(keyword: string, args: string[], o: { flags?: string[]; json?: boolean; heredocs?: Heredoc[]; sub?: InstructionNode } = {}): InstructionNode {
  line++;
  return {
    value: keyword.toLowerCase(),
    keyword,
    flags: o.flags ?? [],
    args: o.sub ? [{ kind: 'instruction', node: o.sub }] : args.map((value) => ({ kind: 'value' as const, value })),
    original: [...(o.flags ?? []), ...args].join(' '),
    json: o.json ?? false,
    heredocs: o.heredocs ?? [],
    range: { startLine: line, endLine: line },
  };
}
const SRC = { lines: ['FROM a', 'RUN b'], file: 'Dockerfile' };
const parse = (n: InstructionNode) => parseInstruction(n, SRC);

function throwsCode(fn: () => unknown, code: string, msg?: RegExp): KilnError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof KilnError, `not a KilnError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (msg) assert.match(e.message, msg);
    assert.ok(e.location && e.location.length > 0, 'has location');
    assert.equal(e.location[0]!.file, 'Dockerfile');
    return e;
  }
  assert.fail('did not throw');
}

test('FROM with --platform and AS (case-insensitive, lower-cased name)', () => {
  const f = parse(node('FROM', ['golang:1.22', 'As', 'Build'], { flags: ['--platform=$BUILDPLATFORM'] }));
  assert.equal(f.kind, 'FROM');
  if (f.kind !== 'FROM') return;
  assert.equal(f.base, 'golang:1.22');
  assert.equal(f.name, 'build');
  assert.equal(f.platform, '$BUILDPLATFORM');
  throwsCode(() => parse(node('FROM', ['a', 'AS', '1abc'])), 'DOCKERFILE_SYNTAX', /invalid name for build stage: "1abc"/);
  throwsCode(() => parse(node('FROM', ['a', 'b'])), 'DOCKERFILE_SYNTAX', /one or three/);
  throwsCode(() => parse(node('FROM', ['a'], { flags: ['--plattform=x'] })), 'UNKNOWN_FLAG', /unknown flag: --plattform/);
});

test('unknown instruction suggests the closest keyword, matching case', () => {
  const e = throwsCode(() => parse(node('RUNN', ['x'])), 'UNKNOWN_INSTRUCTION', /unknown instruction: RUNN/);
  assert.equal(e.details.hint, 'did you mean RUN?');
  const e2 = throwsCode(() => parse(node('copyy', ['x'])), 'UNKNOWN_INSTRUCTION');
  assert.equal(e2.details.hint, 'did you mean copy?');
  const e3 = throwsCode(() => parse(node('XYZZYQ', ['x'])), 'UNKNOWN_INSTRUCTION');
  assert.match(e3.details.hint ?? '', /instructions are FROM/);
});

test('flags: bool forms, missing values, duplicates, repeatable --exclude', () => {
  const c = parse(node('COPY', ['a', 'b', '/d/'], { flags: ['--link', '--parents=false', '--exclude=*.md', '--exclude=x', '--from=build', '--chown=1:2', '--chmod=755'] }));
  assert.equal(c.kind, 'COPY');
  if (c.kind !== 'COPY') return;
  assert.deepEqual([c.link, c.parents, c.excludes, c.from, c.chown, c.chmod, c.sources, c.dest], [true, false, ['*.md', 'x'], 'build', '1:2', '755', ['a', 'b'], '/d/']);
  throwsCode(() => parse(node('COPY', ['a', 'b'], { flags: ['--link=maybe'] })), 'INVALID_FLAG', /expecting boolean value for flag --link, not: maybe/);
  throwsCode(() => parse(node('COPY', ['a', 'b'], { flags: ['--link='] })), 'INVALID_FLAG', /missing a value on flag: --link/);
  throwsCode(() => parse(node('COPY', ['a', 'b'], { flags: ['--from'] })), 'INVALID_FLAG', /missing a value on flag: --from/);
  throwsCode(() => parse(node('COPY', ['a', 'b'], { flags: ['--from=a', '--from=b'] })), 'INVALID_FLAG', /duplicate flag specified: --from/);
  const e = throwsCode(() => parse(node('COPY', ['a', 'b'], { flags: ['--form=a'] })), 'UNKNOWN_FLAG', /^unknown flag: --form$/);
  assert.equal(e.details.hint, 'did you mean --from?');
  throwsCode(() => parse(node('COPY', ['a'])), 'DOCKERFILE_SYNTAX', /at least two arguments/);
  throwsCode(() => parse(node('COPY', ['a', 'b'], { flags: ['--from=$X'] })), 'INVALID_FLAG', /variable expansion is not supported for --from/);
  throwsCode(() => parse(node('ENV', ['a', 'b', '='], { flags: ['--x'] })), 'UNKNOWN_FLAG');
});

test('ADD flags: checksum, keep-git-dir, unpack (undefined unless given)', () => {
  const a = parse(node('ADD', ['https://x/y.tgz', '/y'], { flags: ['--checksum=sha256:abc', '--keep-git-dir', '--unpack=false'] }));
  assert.equal(a.kind, 'ADD');
  if (a.kind !== 'ADD') return;
  assert.equal(a.checksum, 'sha256:abc');
  assert.equal(a.keepGitDir, true);
  assert.equal(a.unpack, false);
  const b = parse(node('ADD', ['x', '/y']));
  assert.ok(b.kind === 'ADD' && b.keepGitDir === undefined && b.unpack === undefined && !('checksum' in b));
  throwsCode(() => parse(node('ADD', ['x', '/y'], { flags: ['--parents'] })), 'UNKNOWN_FLAG');
});

test('COPY heredoc sources become inline files; a heredoc dest is an error', () => {
  const h: Heredoc = { name: 'EOF', content: 'hello $X\n', expand: false, chomp: false };
  const c = parse(node('COPY', ['<<"EOF"', '/app/x'], { heredocs: [h] }));
  assert.ok(c.kind === 'COPY');
  if (c.kind !== 'COPY') return;
  assert.deepEqual(c.inline, [{ path: 'EOF', data: 'hello $X\n', expand: false }]);
  assert.deepEqual(c.sources, []);
  throwsCode(() => parse(node('COPY', ['a', '<<EOF'], { heredocs: [h] })), 'DOCKERFILE_SYNTAX', /heredoc as a destination/);
});

test('RUN: shell/exec, heredocs, network, security, mounts', () => {
  const r = parse(node('RUN', ['apt-get', 'update'], { flags: ['--network=none', '--security=insecure', '--mount=type=cache,target=/var/cache/apt,sharing=locked'] }));
  assert.ok(r.kind === 'RUN');
  if (r.kind !== 'RUN') return;
  assert.deepEqual(r.command, { form: 'shell', args: ['apt-get update'] });
  assert.equal(r.network, 'none');
  assert.equal(r.security, 'insecure');
  assert.deepEqual(r.flagsUsed, ['network', 'security', 'mount']);
  assert.equal(r.mounts[0]!.type, 'cache');
  assert.equal(r.mounts[0]!.readOnly, false);
  assert.equal(r.mounts[0]!.sharing, 'locked');
  const j = parse(node('RUN', ['echo', 'hi'], { json: true }));
  assert.ok(j.kind === 'RUN' && j.command.form === 'exec' && j.command.args.length === 2);
  throwsCode(() => parse(node('RUN', ['x'], { flags: ['--network=bridge'] })), 'INVALID_FLAG', /invalid network mode "bridge"/);
  throwsCode(() => parse(node('RUN', ['x'], { flags: ['--security=unsafe'] })), 'INVALID_FLAG', /security "unsafe" is not valid/);
  throwsCode(() => parse(node('RUN', ['x'], { flags: ['--mount=type=volume,target=/x'] })), 'INVALID_FLAG', /unsupported mount type "volume"/);
  throwsCode(() => parse(node('RUN', [], { json: true })), 'DOCKERFILE_SYNTAX', /RUN requires at least one argument/);
});

test('a bare RUN is a shell form with an empty command (Docker 26 BuildKit runs /bin/sh -c "")', () => {
  const r = parse(node('RUN', []));
  assert.ok(r.kind === 'RUN');
  if (r.kind !== 'RUN') return;
  assert.deepEqual(r.command, { form: 'shell', args: [] });
});

test('mount parsing follows BuildKit: defaults, aliases, per-type keys, csv quoting', () => {
  assert.deepEqual(csvFields('a=1,"b=x,y","c="""'), ['a=1', 'b=x,y', 'c="']);
  assert.deepEqual(csvFields('"a""b"'), ['a"b']);
  assert.throws(() => csvFields('a="b"'), /bare "/);
  assert.throws(() => csvFields('"ab'), /extraneous or missing "/);
  const b = parseMountSpec('target=/src,from=build,src=/out,rw');
  assert.deepEqual([b.type, b.target, b.from, b.source, b.readOnly], ['bind', '/src', 'build', '/out', false]);
  assert.equal(parseMountSpec('type=bind,dst=/x').readOnly, true);
  assert.equal(parseMountSpec('type=bind,destination=/x,readwrite=true').readOnly, false);
  assert.equal(parseMountSpec('type=tmpfs,target=/t,size=64m').size, 64 * 1024 * 1024);
  const c = parseMountSpec('type=cache,id=go,target=/go,mode=0755,uid=1000,gid=1000,ro,from=img,source=/c');
  assert.deepEqual([c.mode, c.uid, c.gid, c.readOnly, c.id], [0o755, 1000, 1000, true, 'go']);
  const s = parseMountSpec('type=secret,id=tok,env=TOKEN,required,mode=0400');
  assert.deepEqual([s.required, s.env, s.mode, s.readOnly], [true, 'TOKEN', 0o400, true]);
  const ssh = parseMountSpec('type=ssh,id=default,target=/ssh,required=true,uid=1');
  assert.equal(ssh.required, true);
  assert.throws(() => parseMountSpec('type=bind,required'), /unexpected key 'required' for mount type 'bind'/);
  assert.throws(() => parseMountSpec('type=cache,size=1m'), /unexpected key 'size'/);
  assert.throws(() => parseMountSpec('type=bind,target=/x,mode=0644'), /mode not allowed for "bind"/);
  assert.throws(() => parseMountSpec('type=secret'), /one of source, target required/);
  assert.throws(() => parseMountSpec('type=secret,id=a,source=b'), /both source and id/);
  assert.throws(() => parseMountSpec('type=secret,id=a,from=x'), /should not have a from/);
  assert.throws(() => parseMountSpec('type=bind,sharing=shared'), /invalid cache sharing set for bind/);
  assert.throws(() => parseMountSpec('type=cache,sharing=lockd'), (e: Error & { hint?: string }) => /unsupported sharing/.test(e.message) && e.hint === 'did you mean locked?');
  assert.throws(() => parseMountSpec('type=cache,mode=9'), /invalid value 9 for mode/);
  assert.throws(() => parseMountSpec('type=cache,uid=-1'), /invalid value -1 for uid/);
  assert.throws(() => parseMountSpec('type=cache,ro=maybe'), /invalid value for ro: maybe/);
  assert.throws(() => parseMountSpec('type=cache,target'), /must be a key=value pair/);
  assert.throws(() => parseMountSpec('type=cache,targt=/x'), (e: Error & { hint?: string }) => /unexpected key 'targt'/.test(e.message) && e.hint === 'did you mean target?');
  assert.throws(() => parseMountSpec('type=bind,from=$X/y'), /doesn't support variable expansion/);
  assert.throws(() => parseMountSpec('type=ssh,source=/agent'), /ssh does not support source/);
  // a type=$VAR defers the type's own keys to the expanded re-parse (BuildKit checks them there)
  const t = parseMountSpec('type=$T,target=/t,size=1m');
  assert.equal(t.deferred, true);
  assert.equal(resolveMount(t, (w) => w.replace('$T', 'tmpfs')).size, 1 << 20);
  assert.throws(() => resolveMount(t, (w) => w.replace('$T', 'cache')), /unexpected key 'size'/);
  assert.equal(resolveMount(parseMountSpec('type=$T,id=x,required=false'), (w) => w.replace('$T', 'secret')).required, false);
  assert.throws(() => parseMountSpec('size=1m,type=$T'), /unexpected key 'size' for mount type 'bind'/); // before type=: bind, as BuildKit
  // deferred until expansion
  const d = parseMountSpec('type=$T,target=/x,mode=$M');
  assert.equal(d.deferred, true);
  const env: Record<string, string> = { T: 'cache', M: '0700' };
  const r = resolveMount(d, (w) => w.replace(/\$(\w+)/g, (_, k: string) => env[k] ?? ''));
  assert.deepEqual([r.type, r.mode, r.deferred], ['cache', 0o700, undefined]);
  assert.equal(ramInBytes('1.5GiB'), 1.5 * 1024 ** 3);
  assert.equal(ramInBytes('12'), 12);
  assert.equal(ramInBytes('x'), undefined);
});

test('HEALTHCHECK: NONE, CMD shell/exec, durations and retries', () => {
  const h = parse(node('HEALTHCHECK', ['CMD', 'curl -f http://localhost/'], { flags: ['--interval=30s', '--timeout=1m30s', '--start-period=0', '--start-interval=500ms', '--retries=3'] }));
  assert.ok(h.kind === 'HEALTHCHECK');
  if (h.kind !== 'HEALTHCHECK') return;
  assert.deepEqual(h.health, { test: ['CMD-SHELL', 'curl -f http://localhost/'], interval: 30e9, timeout: 90e9, startInterval: 5e8, retries: 3 });
  const n = parse(node('HEALTHCHECK', ['none']));
  assert.ok(n.kind === 'HEALTHCHECK' && n.health.test[0] === 'NONE');
  const e = parse(node('HEALTHCHECK', ['CMD', 'true'], { json: false }));
  assert.ok(e.kind === 'HEALTHCHECK');
  throwsCode(() => parse(node('HEALTHCHECK', ['NONE', 'x'])), 'DOCKERFILE_SYNTAX', /takes no arguments/);
  throwsCode(() => parse(node('HEALTHCHECK', ['CMD', 'x'], { flags: ['--interval=10'] })), 'INVALID_FLAG', /missing unit in duration "10"/);
  throwsCode(() => parse(node('HEALTHCHECK', ['CMD', 'x'], { flags: ['--interval=10us'] })), 'INVALID_FLAG', /cannot be less than 1ms/);
  throwsCode(() => parse(node('HEALTHCHECK', ['CMD', 'x'], { flags: ['--retries=-1'] })), 'INVALID_FLAG', /cannot be negative/);
  throwsCode(() => parse(node('HEALTHCHECK', ['CMD', 'x'], { flags: ['--retries=abc'] })), 'INVALID_FLAG');
  throwsCode(() => parse(node('HEALTHCHECK', ['RUN', 'x'])), 'DOCKERFILE_SYNTAX', /Unknown type "RUN" in HEALTHCHECK/);
  throwsCode(() => parse(node('HEALTHCHECK', ['CMD'])), 'DOCKERFILE_SYNTAX', /Missing command/);
});

test('Go duration parsing', () => {
  assert.equal(parseGoDuration('1h2m3.5s'), 3723.5e9);
  assert.equal(parseGoDuration('-1.5ms'), -1.5e6);
  assert.equal(parseGoDuration('0'), 0);
  assert.equal(parseGoDuration('.5s'), 5e8);
  assert.equal(parseGoDuration('1µs'), 1000);
  assert.throws(() => parseGoDuration(''), /invalid duration ""/);
  assert.throws(() => parseGoDuration('5x'), /unknown unit "x" in duration "5x"/);
  assert.throws(() => parseGoDuration('s'), /invalid duration/);
  assert.throws(() => parseGoDuration('.s'), /invalid duration/);
  assert.throws(() => parseGoDuration('1e3s'), /unknown unit "e"/);
});

test('ENV/LABEL pairs, ARG defaults, SHELL json only, simple one-arg instructions', () => {
  const e = parse(node('ENV', ['A', 'x y', '', 'B', '"q"', '=']));
  assert.ok(e.kind === 'ENV');
  if (e.kind === 'ENV') assert.deepEqual(e.env, [{ key: 'A', value: 'x y', legacy: true }, { key: 'B', value: '"q"', legacy: false }]);
  throwsCode(() => parse(node('ENV', [])), 'DOCKERFILE_SYNTAX', /ENV requires at least one argument/);
  throwsCode(() => parse(node('LABEL', ['a', 'b'])), 'DOCKERFILE_SYNTAX', /too many arguments/);
  const a = parse(node('ARG', ['A', 'B=1', 'C=']));
  assert.ok(a.kind === 'ARG');
  if (a.kind === 'ARG') assert.deepEqual(a.args, [{ key: 'A' }, { key: 'B', value: '1' }, { key: 'C', value: '' }]);
  throwsCode(() => parse(node('ARG', ['=x'])), 'DOCKERFILE_SYNTAX', /names can not be blank/);
  const s = parse(node('SHELL', ['/bin/bash', '-c'], { json: true }));
  assert.ok(s.kind === 'SHELL' && s.shell.length === 2);
  assert.equal(throwsCode(() => parse(node('SHELL', ['/bin/bash -c'])), 'DOCKERFILE_SYNTAX', /JSON form/).details.hint, 'write SHELL ["/bin/bash", "-c"]');
  // JSON with something after it (or single quotes) was meant as JSON: no re-quoted pieces
  const trailing = throwsCode(() => parse(node('SHELL', ['["/bin/sh", "-c"] extra'])), 'DOCKERFILE_SYNTAX', /JSON form/);
  assert.match(trailing.details.hint ?? '', /nothing after the closing \]/);
  throwsCode(() => parse(node('USER', ['a', 'b'])), 'DOCKERFILE_SYNTAX', /USER requires exactly one argument/);
  throwsCode(() => parse(node('VOLUME', [' '], { json: true })), 'DOCKERFILE_SYNTAX', /empty string/);
  const v = parse(node('VOLUME', ['/a', '/b']));
  assert.ok(v.kind === 'VOLUME' && v.volumes.length === 2);
  const ep = parse(node('ENTRYPOINT', [], { json: true }));
  assert.ok(ep.kind === 'ENTRYPOINT' && ep.command.form === 'exec' && ep.command.args.length === 0);
});

test('ONBUILD types its trigger and rejects ONBUILD/FROM/MAINTAINER triggers', () => {
  const sub = node('RUN', ['echo', 'hi']);
  const o = parse(node('ONBUILD', [], { sub }));
  assert.ok(o.kind === 'ONBUILD');
  if (o.kind === 'ONBUILD') assert.equal(o.instruction.kind, 'RUN');
  throwsCode(() => parse(node('ONBUILD', [], { sub: node('FROM', ['x']) })), 'DOCKERFILE_SYNTAX', /FROM isn't allowed as an ONBUILD trigger/);
  throwsCode(() => parse(node('ONBUILD', [], { sub: node('ONBUILD', [], { sub }) })), 'DOCKERFILE_SYNTAX', /Chaining ONBUILD/);
});

function ast(nodes: InstructionNode[]): Ast {
  return { directives: { escape: '\\' }, instructions: nodes, warnings: [], lines: ['x'], file: 'Dockerfile' };
}

test('toStages: meta args, stages, duplicate names, instruction before FROM', () => {
  const r = toStages(ast([node('ARG', ['V=1']), node('FROM', ['a:$V', 'AS', 'one']), node('RUN', ['x']), node('FROM', ['one'])]));
  assert.equal(r.metaArgs.length, 1);
  assert.equal(r.stages.length, 2);
  assert.deepEqual([r.stages[0]!.name, r.stages[0]!.index, r.stages[0]!.base, r.stages[0]!.instructions.length], ['one', 0, 'a:$V', 1]);
  assert.equal(r.stages[1]!.name, undefined);
  assert.equal(r.stages[0]!.range.endLine - r.stages[0]!.range.startLine, 1);
  const dup = throwsCode(() => toStages(ast([node('FROM', ['a', 'AS', 'x']), node('FROM', ['b', 'as', 'X'])])), 'DOCKERFILE_SYNTAX', /duplicate stage name "x"/);
  assert.equal(dup.location!.length, 2);
  throwsCode(() => toStages(ast([node('ENV', ['A', 'b', '='])])), 'DOCKERFILE_SYNTAX', /before the first FROM/);
  throwsCode(() => toStages(ast([])), 'DOCKERFILE_EMPTY');
  throwsCode(() => toStages(ast([node('ARG', ['A'])])), 'DOCKERFILE_EMPTY');
  assert.match(formatError(throwsCode(() => toStages(ast([node('RUNN', ['x'])])), 'UNKNOWN_INSTRUCTION')), /hint: did you mean RUN\?/);
});

test('expandInstruction expands exactly the expandable fields', () => {
  const X = (w: string) => w.replace(/\$(\w+)/g, (_, k: string) => (k === 'V' ? 'val' : ''));
  const c = expandInstruction(parse(node('COPY', ['$V', '/d/$V'], { flags: ['--chown=$V', '--from=build'] })), X);
  assert.ok(c.kind === 'COPY' && c.sources[0] === 'val' && c.dest === '/d/val' && c.chown === 'val' && c.from === 'build' && !('chmod' in c));
  const r = expandInstruction(parse(node('RUN', ['echo $V'], { flags: ['--mount=type=cache,target=/$V'] })), X);
  assert.ok(r.kind === 'RUN' && r.command.args[0] === 'echo $V' && r.mounts[0]!.target === '/val');
  const e = expandInstruction(parse(node('ENV', ['K$V', '$V', '='])), X);
  assert.ok(e.kind === 'ENV' && e.env[0]!.key === 'Kval' && e.env[0]!.value === 'val');
  const p = expandInstruction(parse(node('EXPOSE', ['$V', '80'])), X, { expandWords: (w) => X(w).split(' ') });
  assert.ok(p.kind === 'EXPOSE' && p.ports.join() === 'val,80');
});

test('suggest and levenshtein', () => {
  assert.equal(levenshtein('kitten', 'sitting'), 3);
  assert.equal(suggest('RUNN', ['RUN', 'CMD'], false), 'RUN');
  assert.equal(suggest('RUN', ['RUN'], false), undefined);
  assert.equal(suggest('zzzzz', ['RUN'], false), undefined);
});

test('findStage resolves names case-insensitively and indexes', () => {
  const { stages } = toStages(ast([node('FROM', ['a', 'AS', 'one']), node('FROM', ['b'])]));
  assert.equal(findStage(stages, 'ONE')?.index, 0);
  assert.equal(findStage(stages, '1')?.base, 'b');
  assert.equal(findStage(stages, '2'), undefined);
  assert.equal(findStage(stages, 'alpine'), undefined);
});
