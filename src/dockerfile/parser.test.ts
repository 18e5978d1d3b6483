import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KilnError, formatError, type ErrorCode } from '../errors.js';
import type { Heredoc, InstructionNode } from './ast.js';
import { dump, goQuote } from './dump.js';
import { chompHeredocContent, parseHeredoc } from './heredoc.js';
import { parse } from './parser.js';

function only(text: string): InstructionNode {
  const ast = parse(text);
  const last = ast.instructions[ast.instructions.length - 1];
  assert.ok(last);
  return last;
}

function heredocs(text: string): readonly Heredoc[] {
  return only(`FROM x\n${text}`).heredocs;
}

function hd(name: string, content: string, more: Partial<Heredoc> = {}): Heredoc {
  return { name, content, expand: true, chomp: false, ...more };
}

function fails(text: string, code: ErrorCode, message: string | RegExp, start: number, end = start): KilnError {
  let caught: unknown;
  try {
    parse(text);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof KilnError, `expected a KilnError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  if (typeof message === 'string') assert.equal(caught.message, message);
  else assert.match(caught.message, message);
  assert.deepEqual(
    caught.location?.map((l) => [l.file, l.startLine, l.endLine]),
    [['Dockerfile', start, end]],
  );
  assert.ok(caught.details.sourceLines && caught.details.sourceLines.length > 0 === text.trim().length > 0);
  return caught;
}

// ---- heredocs ----

test('heredoc: <<EOF keeps the body (tabs included) and expands', () => {
  assert.deepEqual(heredocs('RUN <<EOF\n\tfoo\n\tbar\nEOF\n'), [hd('EOF', '\tfoo\n\tbar\n')]);
  assert.deepEqual(heredocs('RUN <<EMPTY\nEMPTY\n'), [hd('EMPTY', '')]);
  assert.deepEqual(heredocs('RUN <<C\n# not a comment\necho hi # trailing\nC\n'), [hd('C', '# not a comment\necho hi # trailing\n')]);
});

test('heredoc: <<-EOF ends at a tab-indented terminator; the body keeps its tabs (as in BuildKit\'s parser: users chomp)', () => {
  assert.deepEqual(heredocs('RUN <<-EOF\n\tbaz\n\t\tquux\n\tEOF\n'), [hd('EOF', '\tbaz\n\t\tquux\n', { chomp: true })]);
  assert.equal(chompHeredocContent('\tbaz\n\t\tquux\n'), 'baz\nquux\n');
  // without "-", a tab-indented terminator is body text
  assert.deepEqual(heredocs('RUN <<EOF\n\tEOF\nEOF\n'), [hd('EOF', '\tEOF\n')]);
});

test('heredoc: quoted or partly quoted delimiters do not expand', () => {
  assert.deepEqual(heredocs("RUN <<'EOF'\n$X\nEOF\n"), [hd('EOF', '$X\n', { expand: false })]);
  assert.deepEqual(heredocs('RUN <<"EOF"\n$X\nEOF\n'), [hd('EOF', '$X\n', { expand: false })]);
  assert.deepEqual(heredocs("RUN <<-'NOEXPAND'\n\tdon't $X\nNOEXPAND\n"), [hd('NOEXPAND', "\tdon't $X\n", { expand: false, chomp: true })]);
  assert.deepEqual(heredocs("RUN <<eo'f'\necho\neof\n"), [hd('eof', 'echo\n', { expand: false })]);
  assert.deepEqual(heredocs("RUN <<eo\\'f\necho\neo'f\n"), [hd("eo'f", 'echo\n')]);
  assert.deepEqual(heredocs("RUN <<'e'o\\'f\necho\neo'f\n"), [hd("eo'f", 'echo\n', { expand: false })]);
  assert.deepEqual(heredocs("RUN <<'one two'\necho\none two\n"), [hd('one two', 'echo\n', { expand: false })]);
  assert.deepEqual(heredocs('RUN <<$EOF\n$EOF\n'), [hd('$EOF', '')]);
});

test('heredoc: file descriptor, several per line, spaces after <<, flags before', () => {
  assert.deepEqual(heredocs('RUN 3<<EOF\nx\nEOF\n'), [hd('EOF', 'x\n', { fileDescriptor: 3 })]);
  assert.deepEqual(heredocs('COPY <<X <<Y /dest\nY\nX\nX\nY\n'), [hd('X', 'Y\n'), hd('Y', 'X\n')]);
  assert.deepEqual(heredocs('COPY <<file.txt /dest\nhello\nfile.txt\n'), [hd('file.txt', 'hello\n')]);
  assert.deepEqual(heredocs('RUN <<  EOF  > foo\nEOF\n'), [hd('EOF', '')]);
  assert.deepEqual(heredocs('RUN << -EOF\n-EOF\n'), [hd('-EOF', '')]);
  assert.deepEqual(heredocs('ADD <<EOF /a\nx\nEOF\n'), [hd('EOF', 'x\n')]);
  const n = only('FROM x\nRUN --mount=type=cache,target=/c <<M python3\nprint(1)\nM\n');
  assert.deepEqual(n.flags, ['--mount=type=cache,target=/c']);
  assert.deepEqual(n.heredocs, [hd('M', 'print(1)\n')]);
  assert.equal(dump(parse('FROM x\nCOPY <<A <<B /d\na\nA\nb\nB\n')), '(from "x")\n(copy "<<A" "<<B" "/d")');
});

test('heredoc: only RUN/COPY/ADD in shell form, never inside quotes', () => {
  const ast = parse('FROM x\nUSER <<INVALID\nINVALID\nRUN "<<NOHEREDOC"\nRUN \'<<NO\'\nRUN ["<<EOF"]\nRUN <<<EOF\nRUN <<\n');
  assert.deepEqual(
    ast.instructions.map((n) => [n.keyword, n.heredocs.length]),
    [['FROM', 0], ['USER', 0], ['INVALID', 0], ['RUN', 0], ['RUN', 0], ['RUN', 0], ['RUN', 0], ['RUN', 0]],
  );
  // ONBUILD carries its trigger's heredocs (on the ONBUILD node, as BuildKit)
  const ob = only('FROM x\nONBUILD RUN <<EOF\nhi\nEOF\n');
  assert.deepEqual(ob.heredocs, [hd('EOF', 'hi\n')]);
  assert.deepEqual([ob.range.startLine, ob.range.endLine], [2, 4]);
});

test('heredoc: range covers the bodies; a CRLF file keeps its "\\r" in the bodies (as Docker 26 does)', () => {
  const ast = parse('FROM x\r\nRUN <<A <<B\r\na\r\nA\r\nb\r\nB\r\nUSER me\r\n');
  const run = ast.instructions[1]!;
  assert.deepEqual([run.range.startLine, run.range.endLine], [2, 6]);
  assert.deepEqual(run.heredocs, [hd('A', 'a\r\n'), hd('B', 'b\r\n')]);
  assert.deepEqual([ast.instructions[2]!.range.startLine], [7]);
});

test('heredoc: an unterminated heredoc is HEREDOC_UNTERMINATED over the rest of the file', () => {
  const e = fails('FROM x\nRUN <<EOF\necho hi\nEOFX\n', 'HEREDOC_UNTERMINATED', 'unterminated heredoc', 2, 4);
  assert.match(e.details.hint ?? '', /only EOF/);
  fails('FROM x\nCOPY <<A <<B /d\nA\n', 'HEREDOC_UNTERMINATED', 'unterminated heredoc', 2, 3);
});

test('parseHeredoc: markers, non-markers and broken delimiters', () => {
  for (const w of ['<<EOF', "<<'EOF'", '<<"EOF"', '<<-EOF', "<<-'EOF'", '<<-"EOF"', '<<EO"F"', '<< EOF', '<<- EOF']) {
    assert.equal(parseHeredoc(w)?.name, 'EOF', w);
  }
  for (const w of ['', 'EOF', '<<', '<<-', '<EOF', '<<<EOF', '<<EOF sh', "<<''"]) assert.equal(parseHeredoc(w), undefined, w);
  for (const w of ["<<'EOF", '<<"EOF', "<<EOF'", '<<EOF"']) {
    assert.throws(() => parseHeredoc(w), (e: unknown) => e instanceof KilnError && e.code === 'DOCKERFILE_SYNTAX', w);
  }
});

// ---- directives ----

test('directives: case-insensitive, recorded, and they set the escape token', () => {
  const ast = parse('# EScape=`\n# SYNTAX = docker/dockerfile:1  \n#check=skip=all\nFROM x\nRUN a `\n  b\n');
  assert.deepEqual(ast.directives, { escape: '`', syntax: 'docker/dockerfile:1', check: 'skip=all' });
  assert.equal(dump(ast), '(from "x")\n(run "a   b")');
});

test('directives: ignored after a comment, a blank line or an instruction', () => {
  assert.equal(parse('# hello\n# escape=`\nFROM x\n').directives.escape, '\\');
  assert.equal(parse('\n# escape=`\nFROM x\n').directives.escape, '\\');
  assert.equal(parse('FROM x\n# escape=`\nRUN a `\n').directives.escape, '\\');
  assert.equal(parse('# unknown=1\n# escape=`\nFROM x\n').directives.escape, '\\');
  assert.equal(parse('# syntax=a\n# escape=`\nFROM x\n').directives.escape, '`');
});

test('directives: a repeated directive or an invalid escape value is an error on its line', () => {
  fails('# escape=\\\n# ESCAPE=`\nFROM x\n', 'DOCKERFILE_SYNTAX', 'only one escape parser directive can be used', 2);
  fails('# syntax=a\n# check=x\n# syntax=b\nFROM x\n', 'DOCKERFILE_SYNTAX', 'only one syntax parser directive can be used', 3);
  fails('# escape=x\nFROM x\n', 'DOCKERFILE_SYNTAX', "invalid escape token 'x' does not match ` or \\", 1);
});

// ---- lines ----

test('BOM and CRLF are handled; ranges count comment and blank lines in continuations', () => {
  const ast = parse('\uFEFF# escape=`\r\nFROM x\r\nRUN a `\r\n# c\r\n\r\n  b\r\n\r\nUSER u\r\n');
  assert.equal(ast.directives.escape, '`');
  assert.equal(dump(ast), '(from "x")\n(run "a   b")\n(user "u")');
  assert.deepEqual(
    ast.instructions.map((n) => [n.range.startLine, n.range.endLine]),
    [[2, 2], [3, 6], [8, 8]],
  );
  assert.equal(ast.lines[0], '# escape=`');
  assert.equal(ast.warnings.length, 1);
  assert.match(ast.warnings[0]!.message, /^Empty continuation line found in: RUN a/);
});

test('continuations: escaped escape does not continue; a continuation may reach EOF', () => {
  assert.equal(dump(parse('FROM x\nRUN a \\\\\nUSER u')), '(from "x")\n(run "a \\\\\\\\")\n(user "u")');
  assert.equal(dump(parse('FROM x\nRUN a \\  \t\n')), '(from "x")\n(run "a")');
});

// ---- arguments ----

test('flags: unquoted, a bare -- ends them, later --words are arguments', () => {
  const n = only('COPY --from=a --chown="1:1" --link -- --weird src dst');
  assert.deepEqual(n.flags, ['--from=a', '--chown=1:1', '--link']);
  assert.equal(dump(parse('COPY --from=a --chown="1:1" -- --weird src')), '(copy ["--from=a" "--chown=1:1"] "--weird" "src")');
  // a word that does not start with -- ends the flags, even a quoted "--x"
  assert.deepEqual(only('COPY --a "--b" src').flags, ['--a']);
  assert.equal(n.original, '--from=a --chown="1:1" --link -- --weird src dst');
});

test('arguments per instruction, JSON vs shell form, unknown instructions kept', () => {
  const ast = parse(
    [
      'FROM a AS b',
      'RUN ["echo", "hi"]',
      'CMD []',
      'RUN [ "unterminated"',
      'ENV A=1 B="x y"',
      'ENV C some value',
      'LABEL "k"=v',
      'ARG X Y=z',
      'HEALTHCHECK --interval=5s CMD ["true"]',
      'HEALTHCHECK NONE',
      'ONBUILD COPY --chown=1 . /',
      'FOO bar',
      'EXPOSE 80  443',
    ].join('\n'),
  );
  assert.equal(
    dump(ast),
    [
      '(from "a" "AS" "b")',
      '(run "echo" "hi")',
      '(cmd)',
      '(run "[ \\"unterminated\\"")',
      '(env "A" "1" "=" "B" "\\"x y\\"" "=")',
      '(env "C" "some value" "")',
      '(label "\\"k\\"" "v" "=")',
      '(arg "X" "Y=z")',
      '(healthcheck ["--interval=5s"] "CMD" "true")',
      '(healthcheck "NONE")',
      '(onbuild (copy ["--chown=1"] "." "/"))',
      '(foo "")',
      '(expose "80" "443")',
    ].join('\n'),
  );
  assert.deepEqual(ast.instructions.map((n) => n.json), [false, true, true, false, false, false, false, false, true, false, false, false, false]);
});

test('keywords are lower-cased per character like Go (dispatch and dump)', () => {
  const ast = parse('from x\nΣΣ a\nİX b\nrUn echo\n');
  assert.equal(dump(ast), '(from "x")\n(σσ "")\n(ix "")\n(run "echo")');
  assert.deepEqual(ast.instructions.map((n) => n.keyword), ['from', 'ΣΣ', 'İX', 'rUn']);
});

test('goQuote is Go strconv.Quote', () => {
  assert.equal(goQuote('a"b\\c'), '"a\\"b\\\\c"');
  assert.equal(goQuote('\x00\x07\t\n\x7f'), '"\\x00\\a\\t\\n\\x7f"');
  assert.equal(goQuote('\u00a0♥é\u200b\u{1F600}\u{E0001}'), '"\\u00a0♥é\\u200b\u{1F600}\\U000e0001"');
});

// ---- errors ----

test('errors: messages and lines like BuildKit', () => {
  fails('FROM x\n\nENV PATH\n', 'DOCKERFILE_SYNTAX', 'ENV must have two arguments', 3);
  fails('FROM x\nLABEL onlykey\n', 'DOCKERFILE_SYNTAX', 'LABEL must have two arguments', 2);
  fails('FROM x\nENV A=1 B\n', 'DOCKERFILE_SYNTAX', 'Syntax error - can\'t find = in "B". Must be of the form: name=value', 2);
  fails('FROM x\nENV =1\n', 'DOCKERFILE_SYNTAX', 'ENV names can not be blank', 2);
  const nonString = 'when using JSON array syntax, arrays must be comprised of strings only';
  fails('FROM x\nCMD ["a", 1]\n', 'DOCKERFILE_SYNTAX', nonString, 2);
  fails('FROM x\nRUN ["a", \\\n ["b"]]\n', 'DOCKERFILE_SYNTAX', nonString, 2, 3);
  fails('FROM x\nONBUILD ONBUILD RUN x\n', 'DOCKERFILE_SYNTAX', "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed", 2);
  fails('FROM x\nONBUILD from y\n', 'DOCKERFILE_SYNTAX', "FROM isn't allowed as an ONBUILD trigger", 2);
  fails('FROM x\nONBUILD MAINTAINER me\n', 'DOCKERFILE_SYNTAX', "MAINTAINER isn't allowed as an ONBUILD trigger", 2);
  fails('', 'DOCKERFILE_EMPTY', 'file with no instructions', 1);
  fails('# a\n\n# b\n', 'DOCKERFILE_EMPTY', 'file with no instructions', 1, 3);
});

test('errors render with the Dockerfile line and snippet', () => {
  const e = fails('FROM x\nRUN true\nENV PATH\n', 'DOCKERFILE_SYNTAX', 'ENV must have two arguments', 3);
  const out = formatError(e);
  assert.match(out, /^Dockerfile:3\n/);
  assert.match(out, / 3 \| >>> ENV PATH/);
  assert.match(out, /ERROR: Dockerfile:3: ENV must have two arguments/);
});

test('pathological input stays fast and never throws a non-KilnError', () => {
  const long = 'RUN ' + ' '.repeat(200_000) + 'x' + ' \\'.repeat(10_000);
  const t0 = Date.now();
  parse(`FROM x\n${long}\nENV ${'a '.repeat(50_000)}\nRUN ${'<<'.repeat(20_000)}\n`);
  const deep = 'ONBUILD '.repeat(5_000) + 'RUN x';
  assert.throws(() => parse(deep), (e: unknown) => e instanceof KilnError && e.code === 'DOCKERFILE_SYNTAX');
  assert.equal(dump(parse('RUN ' + '['.repeat(100_000) + ']'.repeat(100_000))).length, 200_008); // too deep for Go's JSON decoder: shell form
  assert.ok(Date.now() - t0 < 5_000);
});
