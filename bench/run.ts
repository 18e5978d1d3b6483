// `npm run bench` — kiln's benchmarks (bench/README.md):
//   npm run bench [-- --cases a,b --builders kiln,buildkit,docker-legacy,buildah,podman
//                     (or kiln-primed, bench/peers/builders.ts)
//                     --reps N --cold-reps N --micro --no-limit --note TEXT]
//     side-by-side builds of bench/cases/* (bench/peers/main.ts) → bench/results/<date>.json,
//     bench/results/<date>.svg and .md, and BENCHMARKS.md when every case ran
//   npm run bench -- --micro-only          only the micro-benchmarks (parse, layer, registry)
//   npm run bench -- parse layer           (positional names) the named micro-benchmarks, one
//                                          JSON line each, as before
//   npm run bench -- --report FILE.json    regenerate the report from a results file (FILE.findings.md,
//                                          when present, goes into it after the chart)
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { REPO, runBench, type Results } from './peers/main.js';
import { chartSvg, markdown } from './peers/report.js';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const flags = new Map<string, string | true>();
const positional: string[] = [];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]!;
  if (!a.startsWith('--')) {
    positional.push(a);
    continue;
  }
  const [k, v] = a.slice(2).split('=', 2) as [string, string | undefined];
  if (v !== undefined) flags.set(k, v);
  else if (['cases', 'builders', 'reps', 'cold-reps', 'note', 'report', 'out'].includes(k)) flags.set(k, argv[++i] ?? '');
  else flags.set(k, true);
}
const str = (k: string) => (typeof flags.get(k) === 'string' ? (flags.get(k) as string) : undefined);
const list = (k: string) => str(k)?.split(',').map((s) => s.trim()).filter(Boolean);

async function micro(filters: string[]): Promise<boolean> {
  const modules = readdirSync(here)
    .filter((f) => f.endsWith('.js') && f !== 'run.js' && !f.endsWith('.test.js'))
    .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
    .sort();
  let failed = false;
  for (const f of modules) {
    const mod = (await import(pathToFileURL(join(here, f)).href)) as { bench?: () => unknown };
    if (typeof mod.bench !== 'function') continue;
    try {
      console.log(JSON.stringify(await mod.bench()));
    } catch (e) {
      failed = true;
      console.log(JSON.stringify({ bench: f.replace(/\.js$/, ''), error: e instanceof Error ? e.message : String(e) }));
    }
  }
  return !failed;
}

function publish(r: Results, jsonPath: string, full: boolean): void {
  const svg = jsonPath.replace(/\.json$/, '.svg');
  writeFileSync(svg, chartSvg(r));
  const rel = (p: string) => relative(REPO, p);
  // hand-written findings for this run (what the numbers mean, bugs hit), if someone wrote them
  const notes = jsonPath.replace(/\.json$/, '.findings.md');
  const findings = existsSync(notes) ? readFileSync(notes, 'utf8') : undefined;
  writeFileSync(jsonPath.replace(/\.json$/, '.md'), markdown(r, basename(svg), basename(jsonPath), findings));
  if (full) {
    writeFileSync(join(REPO, 'BENCHMARKS.md'), markdown(r, rel(svg), rel(jsonPath), findings));
    process.stderr.write(`wrote ${svg}, ${jsonPath.replace(/\.json$/, '.md')} and BENCHMARKS.md\n`);
  } else process.stderr.write(`wrote ${svg} and ${jsonPath.replace(/\.json$/, '.md')} (BENCHMARKS.md only for a run of every case: --publish forces it)\n`);
}

if (positional.length > 0 || flags.has('micro-only')) {
  process.exitCode = (await micro(positional)) ? 0 : 1;
} else if (str('report') !== undefined) {
  const p = str('report')!;
  const r = JSON.parse(readFileSync(p, 'utf8')) as Results;
  // BENCHMARKS.md only from a run of every committed case (bench/cases/*), as for a fresh run
  const committed = readdirSync(join(REPO, 'bench', 'cases')).filter((d) => existsSync(join(REPO, 'bench', 'cases', d, 'Dockerfile')));
  publish(r, p, flags.has('publish') || committed.every((n) => r.cases.some((c) => c.name === n)));
} else {
  const reps = Number(str('reps') ?? process.env['REPS'] ?? 3);
  const r = await runBench({
    cases: list('cases'),
    builders: list('builders'),
    reps,
    coldReps: Number(str('cold-reps') ?? process.env['COLD_REPS'] ?? reps),
    micro: flags.has('micro'),
    limit: !flags.has('no-limit'),
    builds: !flags.has('no-builds'),
    note: str('note'),
    out: str('out'),
  });
  const jsonPath = str('out') ?? join(REPO, 'bench', 'results', `${r.date.slice(0, 10)}.json`);
  publish(r, jsonPath, flags.has('publish') || list('cases') === undefined);
}
