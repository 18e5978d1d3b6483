import { test } from 'node:test';
import assert from 'node:assert/strict';
import { heredocName } from './node-args.js';
import { parseFlags } from './flags.js';
import { KilnError } from '../errors.js';
import type { InstructionNode } from './ast.js';

test('heredocName recognises heredoc words like BuildKit (quotes removed, fd prefix, single word only)', () => {
  assert.equal(heredocName('<<EOF'), 'EOF');
  assert.equal(heredocName('<<-EOF'), 'EOF');
  assert.equal(heredocName('<<"EOF"'), 'EOF');
  assert.equal(heredocName("<<'E O'"), 'E O');
  assert.equal(heredocName('<<E"O"F'), 'EOF');
  assert.equal(heredocName('3<<EOF'), 'EOF');
  assert.equal(heredocName('<<'), undefined);
  assert.equal(heredocName('<<<EOF'), undefined);
  assert.equal(heredocName('a<<EOF'), undefined);
  assert.equal(heredocName('/dest'), undefined);
});

function ctx(flags: string[]) {
  const node: InstructionNode = { value: 'copy', keyword: 'COPY', flags, args: [], original: '', json: false, heredocs: [], range: { startLine: 1, endLine: 1 } };
  return { node, lines: ['COPY'], file: 'Dockerfile' };
}

test('parseFlags: -- ends flags, non -- words are rejected, strings repeat in order', () => {
  const specs = [
    { name: 'a', type: 'strings' as const },
    { name: 'b', type: 'bool' as const },
  ];
  const f = parseFlags(ctx(['--a=1', '--b=FALSE', '--a=', '--', '--zzz']), specs);
  assert.deepEqual(f.strings('a'), ['1', '']);
  assert.equal(f.bool('b'), false);
  assert.deepEqual(f.used, ['a', 'b']);
  assert.throws(() => parseFlags(ctx(['-a']), specs), (e: unknown) => e instanceof KilnError && e.code === 'INVALID_FLAG');
  assert.throws(() => parseFlags(ctx(['--b', '--b']), specs), (e: unknown) => e instanceof KilnError && /duplicate flag/.test(e.message));
  assert.throws(() => parseFlags(ctx(['--c']), specs), (e: unknown) => e instanceof KilnError && e.code === 'UNKNOWN_FLAG' && e.details.hint === 'did you mean --a?');
});
