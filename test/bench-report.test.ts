// The side-by-side bench's pure parts (bench/peers): plain-progress step parsing, pairwise
// ratios, the Markdown report (targets, ABSENT builders) and the SVG chart.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CaseResult, Results, Sample } from '../bench/peers/main.js';
import { chartSvg, markdown } from '../bench/peers/report.js';
import { pairRatio } from '../bench/peers/stats.js';
import { targets } from '../bench/peers/targets.js';
import { parseSteps, stepKind } from '../bench/peers/steps.js';

test('parseSteps reads kiln/BuildKit plain progress with the harness clock', () => {
  const out = [
    '0.100 #1 [builder 1/3] FROM docker.io/library/busybox:latest@sha256:d3c3...',
    '2.200 #1 DONE 2.1s',
    '2.300 #2 [builder 2/3] RUN ./gen.sh',
    '2.400 #2 0.05 some output',
    '5.400 #2 DONE 3.1s',
    '5.500 #3 [builder 3/3] COPY a b',
    '5.500 #3 CACHED',
    '5.600 #4 exporting to image',
    '5.700 #4 DONE 0.1s',
    'not a step line',
  ].join('\n');
  const steps = parseSteps(out);
  assert.deepEqual(steps.map((s) => [s.id, s.secs, s.cached]), [[1, 2.1, false], [2, 3.1, false], [3, 0, true], [4, 0.1, false]]);
  assert.equal(steps[1]!.start, 2.3);
  assert.equal(steps[1]!.end, 5.4);
  assert.deepEqual(steps.map((s) => stepKind(s.name)), ['FROM', 'RUN', 'COPY', 'export']);
  assert.equal(stepKind('[internal] load build definition from Dockerfile'), 'context/def');
});

const sample = (builder: string, phase: Sample['phase'], rep: number, seconds: number, ok = true): Sample => ({
  builder, phase, rep, seconds, ok, code: ok ? 0 : 1, peakRssBytes: 100 * 2 ** 20, loadBefore: 0.1, machineCpuS: seconds,
  ...(ok ? {} : { errorTail: 'boom' }),
});

function fixture(): Results {
  const c: CaseResult = {
    name: 'parallel',
    modifyFile: 'input-a.txt',
    limit: { criticalPathS: 5, totalRunS: 15, limitS: 7.5, stages: ['a', 'b', 'c', 'final'], runs: [] },
    samples: [
      sample('kiln', 'cold', 1, 8), sample('buildkit', 'cold', 1, 7.5), sample('kiln', 'cold', 2, 9), sample('buildkit', 'cold', 2, 7.4),
      sample('kiln', 'warm', 1, 0.2), sample('buildkit', 'warm', 1, 0.4), sample('kiln', 'warm', 2, 0.3), sample('buildkit', 'warm', 2, 0.2),
      sample('kiln', 'warm', 3, 0.2), sample('buildkit', 'warm', 3, 0.3), sample('kiln', 'incr', 1, 5, false),
    ],
    sizes: { kiln: { layers: 2, uncompressedBytes: 2_000_000, compressedBytes: 1_000_000 }, buildkit: { layers: 2, uncompressedBytes: 2_000_000, compressedBytes: 999_999 } },
  };
  return {
    date: '2026-11-27T14:00:00.000Z', runId: 'r', machine: { nproc: 2, memGiB: 24, kernel: 'k', os: 'Debian', cpu: 'cpu' },
    options: { cases: ['parallel'], builders: ['kiln', 'buildkit', 'podman'], reps: 3, coldReps: 2, limit: true, micro: true },
    conditions: { loadavgStart: '0.1', note: 'quiet' },
    builders: [
      { name: 'kiln', status: 'ok', version: 'kiln 0.1.0', command: 'kiln build' },
      { name: 'buildkit', status: 'ok', version: 'Docker 26', command: 'docker build' },
      { name: 'podman', status: 'ABSENT', reason: 'podman not installed', command: 'podman build' },
    ],
    cases: [c],
    micro: [{ bench: 'parse', medianMs: 50 }, { bench: 'registry', push: { ratio: 1.3 }, pull: { ratio: 0.9 } }],
  };
}

test('pairRatio takes the median of rep-by-rep ratios', () => {
  const c = fixture().cases[0]!;
  // cold: 8/7.5 = 1.067, 9/7.4 = 1.216 -> median of two = mean
  assert.ok(Math.abs(pairRatio(c, 'kiln', 'buildkit', 'cold') - (8 / 7.5 + 9 / 7.4) / 2) < 1e-9);
  // warm: 0.5, 1.5, 0.667 -> 0.667
  assert.ok(Math.abs(pairRatio(c, 'kiln', 'buildkit', 'warm') - 0.2 / 0.3) < 1e-9);
  assert.ok(Number.isNaN(pairRatio(c, 'kiln', 'buildkit', 'incr')));
});

test('targets judge each goal and say which ones are not met', () => {
  const t = targets(fixture());
  const by = (s: string) => t.find((x) => x.what.includes(s));
  assert.equal(by('warm rebuild')?.met, true);
  assert.equal(by('cold `parallel`')?.met, false); // 1.14x > 1.10
  assert.equal(by('no bigger')?.met, true); // +1 byte of gzip is inside the 0.1% tolerance
  assert.equal(by('parse 10k')?.met, true);
  assert.equal(by('registry push')?.met, false);
  assert.equal(by('registry pull')?.met, true);
});

test('the report lists ABSENT builders, failed builds, and embeds the chart', () => {
  const md = markdown(fixture(), 'bench/results/x.svg', 'bench/results/x.json', '## Findings\n\nsomething');
  assert.match(md, /\| podman \| \*\*ABSENT\*\*: podman not installed \|/);
  assert.match(md, /!\[[^\]]*\]\(bench\/results\/x\.svg\)/);
  assert.match(md, /## Findings/);
  assert.match(md, /\*\*parallel \/ kiln \/ incr\*\* \(exit 1\)/);
  assert.match(md, /\| parallel \| 7\.50 \| 8\.50 \[8\.00–9\.00\] \| 7\.45 \[7\.40–7\.50\] \|/);
});

test('the chart is one SVG with a bar per builder and phase', () => {
  const svg = chartSvg(fixture());
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.ok(svg.trimEnd().endsWith('</svg>'));
  // 2 builders x (cold, warm) bars; incr has only a failed kiln sample -> a cross, no bar
  assert.equal((svg.match(/<rect [^>]*><title>/g) ?? []).length, 4);
  assert.match(svg, /✗/);
  assert.match(svg, /stroke-dasharray="4,3"/);
});

test('big-context cases (issue #6) get their own targets: no-op <= 1.0x (stretch 0.5x) and one file <= 0.8x BuildKit', () => {
  const r = fixture();
  const big: CaseResult = {
    name: 'node-app-20k',
    modifyFile: 'src/version.ts',
    bigContext: { from: 'node-app', files: 20000, dir: 'src/assets', dockerfileChange: '', readBy: 'COPY src ./src' },
    samples: [
      // no-op pairs 0.5, 0.6, 0.4 -> median 0.5: target and stretch met
      sample('kiln', 'warm', 1, 0.5), sample('buildkit', 'warm', 1, 1.0),
      sample('kiln', 'warm', 2, 0.6), sample('buildkit', 'warm', 2, 1.0),
      sample('kiln', 'warm', 3, 0.4), sample('buildkit', 'warm', 3, 1.0),
      // one-file pairs 0.9, 0.7, 0.85 -> median 0.85: not met
      sample('kiln', 'incr', 1, 9), sample('buildkit', 'incr', 1, 10),
      sample('kiln', 'incr', 2, 7), sample('buildkit', 'incr', 2, 10),
      sample('kiln', 'incr', 3, 8.5), sample('buildkit', 'incr', 3, 10),
    ],
    sizes: {},
  };
  r.cases.push(big);
  const t = targets(r);
  const by = (s: string) => t.filter((x) => x.what.includes(s));
  assert.equal(by('no-op rebuild with a 20,000-file context ≤ 1.0×')[0]?.met, true);
  assert.equal(by('stretch: no-op rebuild')[0]?.met, true);
  assert.equal(by('one-file-changed rebuild')[0]?.met, false);
  assert.match(by('one-file-changed rebuild')[0]!.measured, /node-app-20k 0\.85×/);
  // the general warm target leaves the big-context case out (its rows above judge it)
  assert.doesNotMatch(by('warm rebuild ≤ BuildKit')[0]?.measured ?? '', /node-app-20k/);
  // a failed kiln rebuild leaves the only case without pairs: "no data", never "met"
  big.samples.splice(0, 6, sample('kiln', 'warm', 1, 0.5, false), sample('buildkit', 'warm', 1, 1.0));
  assert.equal(targets(r).find((x) => x.what.includes('no-op rebuild with a'))?.met, undefined);
});

test('bigbuilder: the target uses the medians, and each cold rep is shown against the limit measured before it', () => {
  const r = fixture();
  r.cases.push({
    name: 'bigbuilder',
    modifyFile: 'label.txt',
    coldReps: 5,
    limit: { criticalPathS: 2, totalRunS: 2, limitS: 2, stages: ['builder', 'stage-1'], runs: [], reps: [2, 1.8, 2.4] },
    samples: [sample('kiln', 'cold', 1, 2.1), sample('kiln', 'cold', 2, 2.16), sample('kiln', 'cold', 3, 2.4), sample('buildkit', 'cold', 1, 3)],
    sizes: {},
  });
  const row = targets(r).find((x) => x.what.includes('bigbuilder'))!;
  assert.equal(row.met, true); // median 2.16 / median 2 = 1.08
  assert.match(row.measured, /^1\.08× \(kiln 2\.16 s, RUN steps 2\.00 s; rep by rep, sorted: 1\.00, 1\.05, 1\.20\)$/);
  // a case with more cold reps than the run's --cold-reps says so
  assert.match(markdown(r, 'x.svg', 'x.json', ''), /cold ×2 \(bigbuilder ×5: bench\.conf COLD_REPS\)/);
  assert.match(markdown(r, 'x.svg', 'x.json', ''), /\| bigbuilder \| builder, stage-1 \| 0 \| 2\.00 \| 2\.00 \| 2\.00 \[2\.00, 1\.80, 2\.40\] \| – \|/);
});

test('bigbuilder: runc start-up per RUN is shown next to the target, and never changes its verdict', () => {
  const r = fixture();
  const run = (step: string, seconds: number) => ({ stage: 'builder', step, seconds, code: 0 });
  r.cases.push({
    name: 'bigbuilder',
    modifyFile: 'label.txt',
    coldReps: 1,
    limit: { criticalPathS: 2, totalRunS: 2, limitS: 2, stages: ['builder', 'stage-1'], runs: [run('RUN a', 1.9), run('RUN b', 0.1)], runtimeStartS: 0.03 },
    samples: [sample('kiln', 'cold', 1, 2.3), sample('buildkit', 'cold', 1, 3)],
    sizes: {},
  });
  const row = targets(r).find((x) => x.what.includes('bigbuilder'))!;
  // 2.3 / 2 = 1.15: not met, though 2.3 / (2 + 2 × 0.03) = 1.12 is shown
  assert.equal(row.met, false);
  assert.match(row.measured, /^1\.15× \(kiln 2\.30 s, RUN steps 2\.00 s; against the RUN steps plus runc's start-up \(2 × 30 ms = 2\.06 s\): 1\.12×\)$/);
  assert.match(markdown(r, 'x.svg', 'x.json', ''), /\| bigbuilder \| builder, stage-1 \| 2 \| 2\.00 \| 2\.00 \| 2\.00 \| 30 \|/);
});

test('bigbuilder with LIMIT_EACH_BUILD: the verdict is the median of each build over its own limit, not the ratio of medians', () => {
  const r = fixture();
  const own = (builder: string, rep: number, seconds: number, limitS: number): Sample => ({ ...sample(builder, 'cold', rep, seconds), limitS });
  r.cases.push({
    name: 'bigbuilder',
    modifyFile: 'label.txt',
    coldReps: 3,
    limit: { criticalPathS: 1.8, totalRunS: 1.8, limitS: 1.8, stages: ['builder', 'stage-1'], runs: [], reps: [1.6, 2.0, 1.8, 2.4, 1.7, 3.0] },
    // kiln ran in slow minutes (1.6 -> 2.4): median 2.2 s over median limit 1.8 s = 1.22; own ratios 1.05, 1.09, 1.10 -> 1.09
    samples: [own('kiln', 1, 2.1, 2.0), own('kiln', 2, 2.2, 2.0), own('kiln', 3, 2.64, 2.4), own('buildkit', 1, 3.2, 1.6), own('buildkit', 2, 3.4, 1.7), own('buildkit', 3, 6, 3.0)],
    sizes: {},
  });
  const row = targets(r).find((x) => x.what.includes('bigbuilder'))!;
  assert.equal(row.met, true);
  assert.match(row.measured, /^1\.10× \(median of 3 cold builds; kiln 2\.20 s, RUN steps 1\.80 s; each build over the limit measured right before it, sorted: 1\.05, 1\.10, 1\.10; ratio of the medians 1\.22×; BuildKit the same way: 2\.00×\)$/);
  assert.match(markdown(r, 'x.svg', 'x.json', ''), /Own-limit ratios, bigbuilder \(median; each build sorted\): kiln 1\.10× \[1\.05, 1\.10, 1\.10\]; buildkit 2\.00× \[2\.00, 2\.00, 2\.00\]\./);
  // one slow build too many and the verdict follows the builds, whatever the medians say
  r.cases[r.cases.length - 1]!.samples.push(own('kiln', 4, 2.4, 2.0), own('kiln', 5, 2.5, 2.0), own('kiln', 6, 2.6, 2.0));
  assert.equal(targets(r).find((x) => x.what.includes('bigbuilder'))!.met, false);
});
