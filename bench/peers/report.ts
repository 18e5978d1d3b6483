// Turns one results JSON (bench/results/<date>.json) into the Markdown report (BENCHMARKS.md)
// and the chart (bench/results/<date>.svg, drawn here: one panel per case, cold/warm/incremental
// groups, one bar per builder, the physical limit as a dashed line on the cold group).
import type { CaseResult, Phase, Results, Sample } from './main.js';
import { f2, med, median, okSamples, ownLimitRatios, pairRatio } from './stats.js';
import { stepKind, type Step } from './steps.js';
import { BIG_CONTEXT_TARGETS, bigCases, targets } from './targets.js';

const PHASES: Phase[] = ['cold', 'warm', 'incr'];
const PHASE_NAME: Record<Phase, string> = { cold: 'cold', warm: 'warm', incr: 'incremental' };
const COLORS: Record<string, string> = { kiln: '#d9480f', 'kiln-primed': '#ffa94d', buildkit: '#1971c2', 'docker-legacy': '#74c0fc', buildah: '#2f9e44', podman: '#8ce99a' };

const mib = (x: number | undefined) => (x === undefined ? '–' : (x / 2 ** 20).toFixed(1));

function cell(c: CaseResult, b: string, p: Phase): string {
  const all = c.samples.filter((s) => s.builder === b && s.phase === p);
  if (all.length === 0) return '–';
  const ok = all.filter((s) => s.ok).map((s) => s.seconds);
  if (ok.length === 0) return '**FAIL**';
  const fails = all.length - ok.length;
  const range = ok.length > 1 ? ` [${f2(Math.min(...ok))}–${f2(Math.max(...ok))}]` : '';
  return `${f2(median(ok))}${range}${fails > 0 ? ` (${fails} failed)` : ''}`;
}

// ------------------------------------------------------------------------------- SVG chart
function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceStep(max: number): number {
  const raw = max / 4;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (raw <= m * p) return m * p;
  return 10 * p;
}

export function chartSvg(r: Results): string {
  const builders = r.builders.filter((b) => b.status === 'ok').map((b) => b.name);
  const cases = r.cases;
  const cols = 3;
  const pw = 320;
  const ph = 230;
  const top = 64;
  const rows = Math.ceil(cases.length / cols);
  const W = cols * pw + 20;
  const H = top + rows * ph + 24;
  const o: string[] = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif" font-size="11">`);
  o.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  o.push(`<text x="10" y="20" font-size="15" font-weight="bold">Build time (s, median) — ${esc(r.date.slice(0, 10))}, ${r.machine.nproc} cores, kernel ${esc(r.machine.kernel)}</text>`);
  let lx = 10;
  for (const b of builders) {
    o.push(`<rect x="${lx}" y="32" width="12" height="12" fill="${COLORS[b] ?? '#888'}"/><text x="${lx + 16}" y="42">${esc(b)}</text>`);
    lx += 24 + b.length * 7;
  }
  o.push(`<line x1="${lx}" y1="38" x2="${lx + 22}" y2="38" stroke="#000" stroke-dasharray="4,3"/><text x="${lx + 26}" y="42">RUN steps alone (physical limit)</text>`);
  cases.forEach((c, i) => {
    const x0 = 10 + (i % cols) * pw;
    const y0 = top + Math.floor(i / cols) * ph;
    const plotL = x0 + 40;
    const plotR = x0 + pw - 10;
    const plotT = y0 + 22;
    const plotB = y0 + ph - 34;
    // a big-context case: its one cold build only fills the caches; the rebuilds are the point
    const big = c.bigContext !== undefined;
    const phases = big ? PHASES.filter((p) => p !== 'cold') : PHASES;
    const label = (p: Phase) => (big ? (p === 'warm' ? 'no-op' : 'one file changed') : PHASE_NAME[p]);
    const vals = phases.flatMap((p) => builders.map((b) => med(c, b, p))).filter(Number.isFinite);
    const lim = c.limit?.limitS;
    const max = Math.max(0.1, ...vals, Number.isFinite(lim ?? NaN) ? lim! : 0) * 1.08;
    const step = niceStep(max);
    const top2 = Math.ceil(max / step) * step;
    const y = (v: number) => plotB - (v / top2) * (plotB - plotT);
    o.push(`<text x="${x0 + pw / 2}" y="${y0 + 12}" text-anchor="middle" font-weight="bold" font-size="12">${esc(c.name)}</text>`);
    for (let v = 0; v <= top2 + 1e-9; v += step) {
      o.push(`<line x1="${plotL}" y1="${y(v).toFixed(1)}" x2="${plotR}" y2="${y(v).toFixed(1)}" stroke="#e9ecef"/>`);
      o.push(`<text x="${plotL - 4}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" fill="#495057">${Number(v.toPrecision(3))}</text>`);
    }
    o.push(`<line x1="${plotL}" y1="${plotB}" x2="${plotR}" y2="${plotB}" stroke="#495057"/>`);
    const gw = (plotR - plotL) / phases.length;
    const bw = Math.min(16, (gw - 12) / Math.max(1, builders.length));
    phases.forEach((p, j) => {
      const gx = plotL + j * gw + (gw - bw * builders.length) / 2;
      builders.forEach((b, k) => {
        const v = med(c, b, p);
        const bx = gx + k * bw;
        if (!Number.isFinite(v)) {
          const failed = c.samples.some((s) => s.builder === b && s.phase === p && !s.ok);
          if (failed) o.push(`<text x="${(bx + bw / 2).toFixed(1)}" y="${plotB - 3}" text-anchor="middle" fill="#c92a2a" font-size="9">✗</text>`);
          return;
        }
        const h = Math.max(1, plotB - y(v));
        o.push(`<rect x="${bx.toFixed(1)}" y="${(plotB - h).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[b] ?? '#888'}"><title>${esc(`${c.name} ${label(p)} ${b}: ${f2(v)} s`)}</title></rect>`);
        o.push(`<text transform="translate(${(bx + bw / 2 + 3).toFixed(1)},${(plotB - h - 2).toFixed(1)}) rotate(-90)" font-size="8" fill="#212529">${f2(v)}</text>`);
      });
      if (p === 'cold' && lim !== undefined && Number.isFinite(lim) && lim > 0) {
        o.push(`<line x1="${(gx - 3).toFixed(1)}" y1="${y(lim).toFixed(1)}" x2="${(gx + bw * builders.length + 2).toFixed(1)}" y2="${y(lim).toFixed(1)}" stroke="#000" stroke-width="1.5" stroke-dasharray="4,3"/>`);
      }
      o.push(`<text x="${(plotL + j * gw + gw / 2).toFixed(1)}" y="${plotB + 14}" text-anchor="middle">${label(p)}</text>`);
    });
  });
  o.push('</svg>');
  return `${o.join('\n')}\n`;
}

// ------------------------------------------------------------------------------- Markdown
/** The section on the big-context cases: how they are made, and kiln vs BuildKit pair by pair. */
function bigContextSection(r: Results): string[] {
  const cs = bigCases(r);
  if (cs.length === 0) return [];
  const o: string[] = [];
  o.push('## Big context: no-op and one-file-changed rebuilds (issue #6)');
  o.push('');
  o.push('Generated at run time from a committed case: the case is copied and 200 directories × 100 small files (~290 bytes each, distinct contents, the same in every run) are added where a COPY step of the case reads them, so both builders have to check them on every rebuild. One cold build fills the caches (shown in the cold table), then *no-op* = rebuild with nothing changed (the warm phase), *one file* = rebuild after appending a line to the case\'s `MODIFY_FILE` (the incremental phase). kiln and BuildKit only. Ratios are kiln/BuildKit per back-to-back pair (rep *r* over rep *r*); the verdict uses their median.');
  o.push('');
  o.push('| case | made from | generated files | read by | Dockerfile change | one file changed |');
  o.push('|---|---|---:|---|---|---|');
  for (const c of cs) {
    const b = c.bigContext!;
    o.push(`| ${c.name} | ${b.from} | ${b.files} under \`${b.dir}/\` | \`${b.readBy}\` | ${b.dockerfileChange ? `added \`${b.dockerfileChange}\`` : 'none'} | \`${c.modifyFile}\` |`);
  }
  o.push('');
  const pairs = (c: CaseResult, p: Phase) => {
    const bs = new Map(okSamples(c, 'buildkit', p).map((s) => [s.rep, s.seconds]));
    return okSamples(c, 'kiln', p).filter((s) => bs.has(s.rep)).sort((a, b) => a.rep - b.rep).map((s) => f2(s.seconds / bs.get(s.rep)!)).join(', ');
  };
  const verdict = (x: number, limit: number) => (Number.isFinite(x) ? (x <= limit ? 'met' : 'NOT met') : 'no data');
  o.push(`| case | rebuild | kiln s | BuildKit s | kiln/BuildKit (median of pairs) | pairs | target ≤ ${BIG_CONTEXT_TARGETS.noop.toFixed(1)}× (no-op) / ${BIG_CONTEXT_TARGETS.oneFile.toFixed(1)}× (one file) | stretch ≤ ${BIG_CONTEXT_TARGETS.noopStretch.toFixed(1)}× |`);
  o.push('|---|---|---:|---:|---:|---|---|---|');
  for (const c of cs) {
    for (const [p, name, limit] of [['warm', 'no-op', BIG_CONTEXT_TARGETS.noop], ['incr', 'one file', BIG_CONTEXT_TARGETS.oneFile]] as const) {
      const x = pairRatio(c, 'kiln', 'buildkit', p);
      o.push(`| ${c.name} | ${name} | ${cell(c, 'kiln', p)} | ${cell(c, 'buildkit', p)} | ${f2(x)}× | ${pairs(c, p)} | ${verdict(x, limit)} | ${p === 'warm' ? verdict(x, BIG_CONTEXT_TARGETS.noopStretch) : ''} |`);
    }
  }
  o.push('');
  return o;
}

/** kiln vs BuildKit per-step table for one case and phase (rep with the median kiln time). */
function breakdown(c: CaseResult, p: Phase): string[] {
  const pick = (b: string): Sample | undefined => {
    const ss = okSamples(c, b, p).sort((x, y) => x.seconds - y.seconds);
    return ss[Math.floor((ss.length - 1) / 2)];
  };
  const k = pick('kiln');
  const bk = pick('buildkit');
  if (!k?.steps || !bk?.steps) return [];
  const o: string[] = [];
  const kinds = (steps: readonly Step[]) => {
    const m = new Map<string, number>();
    for (const s of steps) m.set(stepKind(s.name), (m.get(stepKind(s.name)) ?? 0) + (s.secs ?? 0));
    return m;
  };
  const kk = kinds(k.steps);
  const bb = kinds(bk.steps);
  const lastEnd = (steps: readonly Step[]) => Math.max(0, ...steps.map((s) => s.end));
  o.push(`*${PHASE_NAME[p]}* — kiln ${f2(k.seconds)} s (rep ${k.rep}) vs BuildKit ${f2(bk.seconds)} s (rep ${bk.rep}). Sum of step durations by kind (steps of parallel stages overlap, so sums can exceed the wall time), then "outside steps" = wall time after the last step line (process exit, final writes):`);
  o.push('');
  o.push('| kind | kiln s | BuildKit s |');
  o.push('|---|---:|---:|');
  for (const kind of [...new Set([...kk.keys(), ...bb.keys()])].sort()) o.push(`| ${kind} | ${f2(kk.get(kind) ?? 0)} | ${f2(bb.get(kind) ?? 0)} |`);
  o.push(`| before first step line | ${f2(Math.min(...k.steps.map((s) => s.start)))} | ${f2(Math.min(...bk.steps.map((s) => s.start)))} |`);
  o.push(`| outside steps (after the last) | ${f2(k.seconds - lastEnd(k.steps))} | ${f2(bk.seconds - lastEnd(bk.steps))} |`);
  o.push('');
  o.push('<details><summary>steps</summary>');
  o.push('');
  o.push('| builder | step | s | cached |');
  o.push('|---|---|---:|---|');
  for (const [name, s] of [['kiln', k], ['BuildKit', bk]] as const) {
    for (const st of s.steps ?? []) o.push(`| ${name} | \`${st.name.replace(/\|/g, '\\|').replace(/`/g, "'")}\` | ${st.secs === null ? '–' : f2(st.secs)} | ${st.cached ? 'yes' : ''} |`);
  }
  o.push('');
  o.push('</details>');
  o.push('');
  return o;
}

export function markdown(r: Results, svgPath: string, jsonPath: string, findings?: string): string {
  const ok = r.builders.filter((b) => b.status === 'ok').map((b) => b.name);
  const has = (b: string) => ok.includes(b);
  const o: string[] = [];
  o.push('# kiln benchmarks: side by side with BuildKit, the legacy builder, buildah and podman');
  o.push('');
  o.push(`Run \`${r.runId}\` (${r.date.replace('T', ' ').slice(0, 16)} UTC), made by \`npm run bench\` (bench/README.md). Raw samples: [\`${jsonPath}\`](${jsonPath}).`);
  o.push('');
  o.push(`**Machine:** ${r.machine.os}, kernel ${r.machine.kernel}, ${r.machine.nproc} cores (${r.machine.cpu}), ${r.machine.memGiB} GiB RAM.`);
  o.push(`**Conditions:** load average at start \`${r.conditions.loadavgStart}\`, at end \`${r.conditions.loadavgEnd ?? '?'}\`. ${r.conditions.note}`);
  const moreCold = r.cases.filter((c) => (c.coldReps ?? 0) > r.options.coldReps).map((c) => `${c.name} ×${c.coldReps}`);
  o.push(`**Repetitions:** cold ×${r.options.coldReps}${moreCold.length > 0 ? ` (${moreCold.join(', ')}: bench.conf COLD_REPS)` : ''}, warm ×${r.options.reps}, incremental ×${r.options.reps}; cells are medians [min–max]. Builders run interleaved, rep by rep, in rotating order.`);
  o.push('');
  o.push('| builder | version | command |');
  o.push('|---|---|---|');
  for (const b of r.builders) o.push(`| ${b.name} | ${b.status === 'ok' ? b.version ?? '' : `**${b.status}**: ${b.reason ?? ''}`} | \`${b.command}\` |`);
  o.push('');
  if (r.tools) {
    o.push(`Other tools: ${Object.entries(r.tools).map(([k, v]) => `${k}: ${v}`).join('; ')}.`);
    o.push('');
  }
  o.push(`![build times per case: cold, warm, incremental; one bar per builder](${svgPath})`);
  o.push('');
  if (findings !== undefined && findings.trim() !== '') {
    o.push(findings.trim());
    o.push('');
  }
  const tg = targets(r);
  if (tg.length > 0) {
    o.push('## Targets');
    o.push('');
    o.push('| target | measured (kiln / reference) | |');
    o.push('|---|---|---|');
    for (const t of tg) o.push(`| ${t.what} | ${t.measured} | ${t.met === undefined ? 'no data' : t.met ? '**met**' : '**NOT met**'} |`);
    o.push('');
    o.push('Build ratios against BuildKit are medians of pairwise ratios (rep *r* of kiln over rep *r* of BuildKit, measured back to back); micro-benchmark ratios are kiln over GNU tar / skopeo, measured alternately in the same run (medians).');
    o.push('');
  }
  o.push(...bigContextSection(r));
  for (const p of PHASES) {
    o.push(`## ${PHASE_NAME[p][0]!.toUpperCase()}${PHASE_NAME[p].slice(1)} build (s)`);
    o.push('');
    o.push(p === 'cold' ? 'Every cache emptied before each build (kiln: a fresh store with the base images loaded; BuildKit: result removed + `docker builder prune -af`; legacy, buildah, podman: result and intermediate images removed). Base images stay loaded for every builder. *RUN alone* = the physical limit (below).' : p === 'warm' ? 'Rebuild with nothing changed.' : 'Rebuild after appending one line to the case\'s `MODIFY_FILE` (bench.conf), a new line each time.');
    o.push('');
    const extra = p === 'cold' ? ' RUN alone |' : '';
    const ratioCols = has('buildkit') ? ['kiln', 'kiln-primed'].filter(has) : [];
    o.push(`| case |${extra} ${ok.join(' | ')} |${ratioCols.map((k) => ` ${k}/BuildKit |`).join('')}`);
    o.push(`|---|${p === 'cold' ? '---:|' : ''}${ok.map(() => '---:').join('|')}|${ratioCols.map(() => '---:|').join('')}`);
    for (const c of r.cases) {
      const lim = p === 'cold' ? ` ${c.limit ? (c.limit.error ? `error` : f2(c.limit.limitS)) : '–'} |` : '';
      const ratio = ratioCols.map((k) => ` ${f2(pairRatio(c, k, 'buildkit', p))}× |`).join('');
      o.push(`| ${c.name} |${lim} ${ok.map((b) => cell(c, b, p)).join(' | ')} |${ratio}`);
    }
    o.push('');
  }
  o.push('## Final image size (MiB, compressed gzip-6 / uncompressed)');
  o.push('');
  o.push('Every builder\'s image is saved as a docker-archive (uncompressed layer tars); compressed = each layer gzipped at level 6 by the bench, the same for all builders. kiln\'s store keeps its own gzip blobs: their size is in parentheses.');
  o.push('');
  o.push(`| case | ${ok.join(' | ')} |`);
  o.push(`|---|${ok.map(() => '---:').join('|')}|`);
  for (const c of r.cases.filter((x) => x.bigContext === undefined)) { // big-context cases: no sizes taken
    o.push(`| ${c.name} | ${ok.map((b) => {
      const s = c.sizes[b];
      if (!s) return '–';
      return `${mib(s.compressedBytes)} / ${mib(s.uncompressedBytes)}${s.storeCompressedBytes !== undefined ? ` (${mib(s.storeCompressedBytes)})` : ''} · ${s.layers} layers`;
    }).join(' | ')} |`);
  }
  o.push('');
  o.push('## Peak memory of the builder process tree (MiB, median over the phase\'s builds)');
  o.push('');
  o.push('Polled every 100 ms from /proc: the RSS sum of the build command\'s process tree, plus for docker the bench-owned dockerd (with its containerd and shims). RUN commands\' processes count for every builder. RSS sums count shared pages once per process.');
  o.push('');
  o.push(`| case | phase | ${ok.join(' | ')} |`);
  o.push(`|---|---|${ok.map(() => '---:').join('|')}|`);
  for (const c of r.cases) {
    for (const p of PHASES) {
      const row = ok.map((b) => {
        const v = median(okSamples(c, b, p).map((s) => s.peakRssBytes));
        return Number.isFinite(v) ? (v / 2 ** 20).toFixed(0) : '–';
      });
      if (row.every((x) => x === '–')) continue;
      o.push(`| ${c.name} | ${PHASE_NAME[p]} | ${row.join(' | ')} |`);
    }
  }
  o.push('');
  o.push('## Physical limit: the RUN steps alone');
  o.push('');
  o.push('Each needed stage is replayed in a plain directory (base image rootfs exported with `kiln build -o type=local`, COPY = `cp -a`), and each RUN runs as `unshare --mount --mount-proc=/proc --root=DIR --wd=CWD ARGV` (a chroot in a private mount namespace) with the step\'s environment; only the RUN processes are timed. *critical path* = longest chain of RUN time through the step graph (a stage follows its base; a `COPY --from` waits for its stage); *limit* = max(critical path, all RUN time / nproc), measured once per cold rep right before that rep\'s cold builds (median; each measurement in brackets), or, in a case whose bench.conf has `LIMIT_EACH_BUILD=1` (bigbuilder), right before every builder\'s every cold build. Such a case also gets *own-limit ratios* below: each cold build over the limit measured just before it, median per builder; the VM\'s speed drifts by ±15 % between minutes, and this pairing keeps that drift out of the ratio. Overhead = builder\'s cold median − limit. *runc start* (informational) = what `runc run` of `/bin/true` in the same rootfs (runc\'s default spec, no network namespace) takes over the same under `unshare` (median of 7, per rep, median): the least a builder that runs each RUN in an OCI runtime adds per RUN.');
  o.push('');
  o.push(`| case | stages needed | RUNs | all RUN s | critical path s | limit s | runc start ms | ${ok.map((b) => `${b} overhead s`).join(' | ')} |`);
  o.push(`|---|---|---:|---:|---:|---:|---:|${ok.map(() => '---:').join('|')}|`);
  for (const c of r.cases) {
    const l = c.limit;
    if (!l) continue;
    o.push(`| ${c.name} | ${l.stages.join(', ')} | ${l.runs.length} | ${f2(l.totalRunS)} | ${f2(l.criticalPathS)} | ${f2(l.limitS)}${l.reps && l.reps.length > 1 ? ` [${l.reps.map(f2).join(', ')}]` : ''}${l.error ? ` (error: ${l.error})` : ''} | ${l.runtimeStartS !== undefined ? (l.runtimeStartS * 1000).toFixed(0) : '–'} | ${ok.map((b) => f2(med(c, b, 'cold') - l.limitS)).join(' | ')} |`);
  }
  o.push('');
  for (const c of r.cases) {
    const rows = ok.map((b) => [b, ownLimitRatios(c, b)] as const).filter(([, xs]) => xs.length > 0);
    if (rows.length === 0) continue;
    o.push(`Own-limit ratios, ${c.name} (median; each build sorted): ${rows.map(([b, xs]) => `${b} ${f2(median(xs))}× [${xs.map(f2).join(', ')}]`).join('; ')}.`);
    o.push('');
  }
  if (has('kiln')) {
    const slower: string[] = [];
    for (const c of r.cases) {
      for (const p of PHASES) {
        const k = med(c, 'kiln', p);
        const peers = ok.filter((b) => !b.startsWith('kiln') && med(c, b, p) < k);
        if (peers.length > 0) slower.push(`${c.name}/${PHASE_NAME[p]}: ${peers.map((b) => `${b} ${f2(med(c, b, p))} s`).join(', ')} vs kiln ${f2(k)} s`);
      }
    }
    o.push('## Where kiln is slower, and where its time goes');
    o.push('');
    if (slower.length === 0) o.push('kiln was not slower than any peer on any case and phase in this run.');
    else {
      o.push('kiln was slower than at least one peer here:');
      o.push('');
      for (const s of slower) o.push(`- ${s}`);
      o.push('');
      o.push('Per-step breakdown from the plain progress output (`#N [..] ...` / `#N DONE x.xs`), kiln vs BuildKit, for those cases (the rep with the median kiln time):');
      o.push('');
      for (const c of r.cases) {
        const ph = PHASES.filter((p) => ok.some((b) => !b.startsWith('kiln') && med(c, b, p) < med(c, 'kiln', p)));
        if (ph.length === 0) continue;
        o.push(`### ${c.name}`);
        o.push('');
        for (const p of ph) o.push(...breakdown(c, p));
      }
    }
    o.push('');
  }
  const fails = r.cases.flatMap((c) => c.samples.filter((s) => !s.ok).map((s) => ({ c: c.name, s })));
  if (fails.length > 0) {
    o.push('## Failed builds');
    o.push('');
    const seen = new Set<string>();
    for (const { c, s } of fails) {
      const key = `${c}/${s.builder}/${s.phase}`;
      if (seen.has(key)) continue;
      seen.add(key);
      o.push(`- **${c} / ${s.builder} / ${s.phase}** (exit ${s.code}):`);
      o.push('');
      o.push('  ```');
      for (const l of (s.errorTail ?? '').split('\n')) o.push(`  ${l}`);
      o.push('  ```');
    }
    o.push('');
  }
  if (r.micro) {
    o.push('## Micro-benchmarks');
    o.push('');
    o.push('```json');
    for (const m of r.micro) o.push(JSON.stringify(m));
    o.push('```');
    o.push('');
  }
  return `${o.join('\n')}\n`;
}
