// Benchmark: parse() + toStages() of a generated 10,000-instruction multi-stage Dockerfile.
// Prints one JSON line: {"bench":"parse","instructions":N,"medianMs":..,"minMs":..,"runs":..}.
// Target: median under 100 ms.
import { pathToFileURL } from 'node:url';
import { parse, toStages } from '../src/dockerfile/index.js';

/** A deterministic Dockerfile with `count` instructions spread over stages of ~500. */
export function generateDockerfile(count: number): string {
  const out: string[] = ['# syntax=docker/dockerfile:1', 'ARG BASE=debian:bookworm', 'ARG VERSION=1.0'];
  let n = 2;
  let stage = 0;
  let i = 0;
  while (n < count) {
    if (i % 500 === 0) {
      out.push(stage === 0 ? 'FROM --platform=$BUILDPLATFORM ${BASE} AS s0' : `FROM s${stage - 1} AS s${stage}`);
      stage++;
      n++;
      i++;
      continue;
    }
    switch (i % 12) {
      case 0:
        out.push(`RUN --mount=type=cache,target=/var/cache/apt,sharing=locked --mount=type=secret,id=tok,env=TOKEN \\`, `    apt-get update && apt-get install -y pkg${i} \\`, `    && rm -rf /var/lib/apt/lists/*`);
        break;
      case 1:
        out.push(`ENV PATH=/opt/bin${i}:$PATH LANG=C.UTF-8 V${i}="quoted value"`);
        break;
      case 2:
        out.push(`COPY --from=s0 --chown=1000:1000 --chmod=0644 --link --exclude=*.md src${i}/ /app/src${i}/`);
        break;
      case 3:
        out.push('RUN <<EOF', 'set -e', `echo step ${i}`, 'echo "$HOME"', 'EOF');
        break;
      case 4:
        out.push(`LABEL org.example.k${i}="v${i}" other=x`);
        break;
      case 5:
        out.push(`WORKDIR /work/${i}`);
        break;
      case 6:
        out.push(`ARG A${i}=default${i}`);
        break;
      case 7:
        out.push(`ADD --checksum=sha256:${'0'.repeat(64)} https://example.com/f${i}.tgz /opt/`);
        break;
      case 8:
        out.push(`HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD curl -f http://localhost:${i}/ || exit 1`);
        break;
      case 9:
        out.push(`CMD ["/bin/app", "--port", "${i}"]`);
        break;
      case 10:
        out.push(`EXPOSE ${i % 65535}/tcp`, );
        break;
      default:
        out.push(`USER app${i}:staff`);
    }
    n++;
    i++;
  }
  return `${out.join('\n')}\n`;
}

export interface BenchResult {
  readonly bench: string;
  readonly instructions: number;
  readonly stages: number;
  readonly medianMs: number;
  readonly minMs: number;
  readonly runs: number;
}

export function bench(runs = 9): BenchResult {
  const text = generateDockerfile(10_000);
  let instructions = 0;
  let stages = 0;
  // warm-up
  for (let k = 0; k < 2; k++) toStages(parse(text, { file: 'Dockerfile' }));
  const times: number[] = [];
  for (let k = 0; k < runs; k++) {
    const t0 = performance.now();
    const ast = parse(text, { file: 'Dockerfile' });
    const r = toStages(ast);
    times.push(performance.now() - t0);
    instructions = ast.instructions.length;
    stages = r.stages.length;
  }
  times.sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 100) / 100;
  return { bench: 'parse', instructions, stages, medianMs: round(times[Math.floor(times.length / 2)]!), minMs: round(times[0]!), runs };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(bench()));
}
