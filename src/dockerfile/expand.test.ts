// expandInstruction with the real parser and shell lexer, the way plan/ will use them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KilnError, formatError } from '../errors.js';
import { parse } from './parser.js';
import { ShellLex } from './shell.js';
import { toStages } from './stages.js';
import { expandInstruction } from './expand.js';

const TEXT = `ARG BASE=alpine
FROM \${BASE}:3.20 AS build
ARG DIR=/opt/app MODE=0700
ENV HOME_DIR="$DIR/home"
WORKDIR $DIR
COPY --chown=$UID:0 --chmod=$MODE <<EOF <<"RAW" src/\${DIR##*/}.txt $DIR/
home=$HOME_DIR "quoted"
EOF
raw $DIR
RAW
RUN --mount=type=cache,target=$DIR/cache,mode=$MODE echo "$DIR"
EXPOSE $PORTS
`;

test('expandInstruction + ShellLex: expandable fields expand, commands and quoted heredocs do not', () => {
  const ast = parse(TEXT, { file: 'Dockerfile' });
  const { metaArgs, stages } = toStages(ast);
  const lex = new ShellLex();
  const env = new Map([['BASE', 'alpine'], ['DIR', '/opt/app'], ['MODE', '0700'], ['UID', '1000'], ['HOME_DIR', '/opt/app/home'], ['PORTS', '80 443/udp']]);
  const word = (w: string) => lex.processWord(w, env).result;
  const raw = new ShellLex({ skipProcessQuotes: true });
  const opts = { expandRaw: (w: string) => raw.processWord(w, env).result, expandWords: (w: string) => lex.processWords(w, env).words, sourceLines: ast.lines };
  assert.equal(metaArgs[0]!.args[0]!.key, 'BASE');
  const from = expandInstruction(stages[0]!.from, word);
  assert.equal(from.base, 'alpine:3.20');
  const ins = stages[0]!.instructions.map((i) => expandInstruction(i, word, opts));
  const [, envI, wd, copy, run, expose] = ins;
  assert.ok(envI?.kind === 'ENV');
  assert.deepEqual(envI.env, [{ key: 'HOME_DIR', value: '/opt/app/home', legacy: false }]);
  assert.ok(wd?.kind === 'WORKDIR' && wd.path === '/opt/app');
  assert.ok(copy?.kind === 'COPY');
  assert.equal(copy.chown, '1000:0');
  assert.equal(copy.chmod, '$MODE'); // BuildKit never expands --chmod
  assert.deepEqual(copy.sources, ['src/app.txt']);
  assert.equal(copy.dest, '/opt/app/');
  assert.deepEqual(copy.inline.map((s) => s.data), ['home=/opt/app/home "quoted"\n', 'raw $DIR\n']);
  assert.ok(run?.kind === 'RUN');
  assert.deepEqual(run.command.args, ['echo "$DIR"']);
  assert.equal(run.mounts[0]!.target, '/opt/app/cache');
  assert.equal(run.mounts[0]!.mode, 0o700);
  assert.equal(run.mounts[0]!.deferred, undefined);
  assert.ok(expose?.kind === 'EXPOSE');
  assert.deepEqual(expose.ports, ['80', '443/udp']);
});

test('expansion errors get the instruction location', () => {
  const ast = parse('FROM alpine\nRUN --mount=type=cache,mode=$BAD true\nWORKDIR ${X:?must be set}\n', { file: 'Dockerfile' });
  const { stages } = toStages(ast);
  const lex = new ShellLex();
  const env = new Map([['BAD', '99']]);
  const word = (w: string) => lex.processWord(w, env).result;
  const [run, wd] = stages[0]!.instructions;
  try {
    expandInstruction(run!, word, { sourceLines: ast.lines });
    assert.fail('no error');
  } catch (e) {
    assert.ok(e instanceof KilnError && e.code === 'INVALID_FLAG', String(e));
    assert.match(formatError(e), /^Dockerfile:2\n[^]*>>> RUN --mount[^]*invalid value 99 for mode/);
  }
  try {
    expandInstruction(wd!, word, { sourceLines: ast.lines });
    assert.fail('no error');
  } catch (e) {
    assert.ok(e instanceof KilnError && e.code === 'ARG_EXPANSION', String(e));
    assert.equal(e.location?.[0]?.startLine, 3);
    assert.match(formatError(e), /must be set/);
  }
});
