// Property/fuzz test of the Dockerfile frontend: ≥ 10,000 mutated or generated Dockerfiles go
// through parse() + toStages(). Every failure must be a KilnError (located when it is about the
// file's content), formatError must render it, and no single input may take more than 1 s.
// The PRNG is seeded: the seed is printed; KILN_FUZZ_SEED=<n> replays a run, KILN_FUZZ_RUNS=<n>
// runs more inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError, formatError } from '../src/errors.js';
import { parse, toStages } from '../src/dockerfile/index.js';
import { PROJECT_ROOT } from './helpers/cli.js';
import { corpusDir } from './helpers/prereq.js';
import { rng } from './helpers/random-image.js';

const RUNS = Math.max(10_000, Number(process.env['KILN_FUZZ_RUNS'] ?? 0) || 0);
const MAX_MS_PER_INPUT = 1000;
const LOCATED = new Set(['DOCKERFILE_SYNTAX', 'UNKNOWN_INSTRUCTION', 'UNKNOWN_FLAG', 'INVALID_FLAG', 'HEREDOC_UNTERMINATED']);

const prng = rng; // mulberry32 from the test helpers: deterministic per seed

function dockerfilesUnder(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) dockerfilesUnder(p, out);
    else if (e.name === 'Dockerfile') out.push(readFileSync(p, 'utf8'));
  }
  return out;
}

const KEYWORDS = ['FROM', 'RUN', 'CMD', 'LABEL', 'MAINTAINER', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT', 'VOLUME', 'USER', 'WORKDIR', 'ARG', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL', 'RUNN', 'from', 'Copy'];
const FLAGS = [
  '--mount=type=cache,target=/x', '--mount=type=secret,id=a,env=B,required', '--mount=type=ssh', '--mount=type=tmpfs,size=1g,target=/t',
  '--mount=type=bind,from=x,source=/,rw', '--mount=type=', '--mount="a', '--mount=type=cache,mode=999', '--mount=,,', '--mount=type=$T,uid=$U',
  '--network=none', '--network=', '--security=insecure', '--from=build', '--from=$X', '--chown=1:1', '--chmod=755', '--link', '--link=maybe',
  '--parents', '--exclude=*.md', '--checksum=sha256:0', '--keep-git-dir=false', '--unpack', '--platform=linux/amd64', '--platform',
  '--interval=1s', '--interval=5', '--timeout=1us', '--retries=-1', '--retries=x', '--start-period=1h', '--start-interval=0', '--foo', '--', '-x',
];
const SNIPPETS = [
  '<<EOF', '<<-EOF', '<<"EOF"', "<<'EOF'", '3<<EOF', 'EOF', '\tEOF', '\\', '\\\n', '"', "'", '[', ']', '["a", "b"]', '[1]', '[[]]', '{', '}', '$', '${', '${A:-b}',
  '=', ',', ' AS ', ' as x', '\n', '\r\n', '\t', '# escape=`\n', '# syntax=x\n', '`', '\uFEFF', '\u00a0', '\0', 'ONBUILD ', 'NONE', 'CMD', ' ',
];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function mutate(r: () => number, text: string): string {
  let s = text;
  const n = r() < 0.6 ? 1 : 1 + Math.floor(r() * 3);
  for (let k = 0; k < n; k++) {
    const at = Math.floor(r() * (s.length + 1));
    switch (Math.floor(r() * 10)) {
      case 0: // insert a random char
        s = s.slice(0, at) + String.fromCharCode(Math.floor(r() * 128)) + s.slice(at);
        break;
      case 1: { // delete a range
        const len = Math.floor(r() * 20);
        s = s.slice(0, at) + s.slice(at + len);
        break;
      }
      case 2: { // duplicate a range
        const len = Math.floor(r() * 40);
        s = s.slice(0, at) + s.slice(at, at + len) + s.slice(at);
        break;
      }
      case 3: // a special snippet
        s = s.slice(0, at) + pick(r, SNIPPETS) + s.slice(at);
        break;
      case 4: { // a flag after a keyword on some line
        const lines = s.split('\n');
        const i = Math.floor(r() * lines.length);
        const m = /^(\s*\S+)(.*)$/.exec(lines[i] ?? '');
        if (m) lines[i] = `${m[1]} ${pick(r, FLAGS)}${m[2]}`;
        s = lines.join('\n');
        break;
      }
      case 5: { // a whole new instruction line
        const lines = s.split('\n');
        const i = Math.floor(r() * (lines.length + 1));
        lines.splice(i, 0, `${pick(r, KEYWORDS)} ${r() < 0.5 ? pick(r, FLAGS) + ' ' : ''}${pick(r, SNIPPETS)} x y`);
        s = lines.join('\n');
        break;
      }
      case 6: // unbalanced quote/bracket
        s = s.slice(0, at) + pick(r, ['"', "'", '[', ']', '["', '"]', '`']) + s.slice(at);
        break;
      case 7: { // swap two lines
        const lines = s.split('\n');
        const i = Math.floor(r() * lines.length);
        const j = Math.floor(r() * lines.length);
        [lines[i], lines[j]] = [lines[j]!, lines[i]!];
        s = lines.join('\n');
        break;
      }
      case 8: // a huge line (rarely)
        if (r() < 0.05) s = s.slice(0, at) + pick(r, ['a', ' ', '\\', '"', '$', '<<', '--x=', ',']).repeat(1000 + Math.floor(r() * 50_000)) + s.slice(at);
        break;
      default: // truncate
        s = s.slice(0, at);
    }
  }
  return s;
}

function generate(r: () => number): string {
  const lines: string[] = [];
  if (r() < 0.3) lines.push(`ARG ${pick(r, ['A', 'B=1', 'C=${D}', '=x', 'X Y=2'])}`);
  const n = 1 + Math.floor(r() * 15);
  for (let i = 0; i < n; i++) {
    const kw = i === 0 && r() < 0.9 ? 'FROM' : pick(r, KEYWORDS);
    const flags = r() < 0.4 ? ` ${pick(r, FLAGS)}` : '';
    const args = Array.from({ length: Math.floor(r() * 4) }, () => (r() < 0.3 ? pick(r, SNIPPETS) : pick(r, ['alpine', 'a', '/d', 'x=y', 'AS', 'build', '"q q"', 'CMD', 'true']))).join(' ');
    lines.push(`${kw}${flags} ${args}`);
    if (args.includes('<<') && r() < 0.8) lines.push('body $X', pick(r, ['EOF', '\tEOF', 'EOFX']));
  }
  return lines.join(r() < 0.1 ? '\r\n' : '\n') + (r() < 0.8 ? '\n' : '');
}

test('fuzz: parse + toStages fail only with (located) KilnErrors, each input < 1 s', (t) => {
  const seedEnv = process.env['KILN_FUZZ_SEED'];
  const seed = seedEnv !== undefined && seedEnv !== '' ? Number(seedEnv) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
  const msg = `fuzz seed: ${seed} (replay with KILN_FUZZ_SEED=${seed})`;
  console.log(msg);
  t.diagnostic(msg);
  const r = prng(seed);
  const corpus = corpusDir();
  const seeds = [
    ...dockerfilesUnder(join(PROJECT_ROOT, 'test', 'fixtures', 'dockerfile')),
    ...dockerfilesUnder(join(PROJECT_ROOT, 'test', 'fixtures', 'dockerfile-errors')),
    ...(corpus ? dockerfilesUnder(join(corpus, 'buildkit', 'frontend', 'dockerfile', 'parser')) : []),
  ];
  if (!corpus) t.diagnostic('BuildKit corpus not found: mutating kiln fixtures only');
  assert.ok(seeds.length >= 50, `too few seed files (${seeds.length})`);
  let ok = 0;
  let failed = 0;
  let slowest = { ms: 0, input: '' };
  const codes = new Map<string, number>();
  for (let i = 0; i < RUNS; i++) {
    const input = r() < 0.75 ? mutate(r, pick(r, seeds)) : generate(r);
    const t0 = performance.now();
    try {
      const res = toStages(parse(input, { file: 'Dockerfile' }));
      JSON.stringify(res);
      ok++;
    } catch (e) {
      failed++;
      if (!(e instanceof KilnError)) {
        assert.fail(`input #${i} (seed ${seed}) threw a non-KilnError: ${e instanceof Error ? e.stack : String(e)}\n--- input ---\n${input.slice(0, 2000)}`);
      }
      codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
      if (LOCATED.has(e.code)) {
        assert.ok(e.location && e.location.length > 0, `input #${i} (seed ${seed}): ${e.code} without a location: ${e.message}\n--- input ---\n${input.slice(0, 2000)}`);
        const loc = e.location[0]!;
        assert.ok(loc.startLine >= 1 && loc.endLine >= loc.startLine, `input #${i}: bad range ${JSON.stringify(loc)}`);
      }
      assert.equal(typeof formatError(e), 'string');
    }
    const ms = performance.now() - t0;
    if (ms > slowest.ms) slowest = { ms, input };
    assert.ok(ms < MAX_MS_PER_INPUT, `input #${i} (seed ${seed}) took ${ms.toFixed(0)} ms (${input.length} chars)`);
  }
  const summary = `fuzz: ${RUNS} inputs, ${ok} parsed, ${failed} rejected ${JSON.stringify(Object.fromEntries(codes))}; slowest ${slowest.ms.toFixed(1)} ms (${slowest.input.length} chars)`;
  console.log(summary);
  t.diagnostic(summary);
  assert.ok(ok > RUNS / 20, 'almost nothing parsed: the mutations are too destructive to test anything');
  assert.ok(failed > RUNS / 20, 'almost nothing failed: the mutations are too gentle');
});
