// Benchmark: push and pull of a ~200 MB image (4 random gzip layers) through a local
// docker-registry, kiln side by side with `skopeo copy` in the same run:
//   push:  kiln push from an OCI layout      vs  skopeo copy oci:DIR docker://…
//   pull:  kiln pull into the real Store     vs  skopeo copy docker://… oci:DIR
//          (as `kiln pull` does it: the Store verifies digests, so the client does not hash twice)
// Target: kiln ≤ 1.2× skopeo for both. Each run uses fresh registries and destinations, and
// every timed step starts after `sync`.
// `bench()` returns one JSON-able result (bench/run.ts); `main()` prints JSON lines.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { MediaType } from '../src/image/index.js';
import { RegistryClient, parseNormalizedReference, pull, push } from '../src/registry/index.js';
import { Store } from '../src/store/index.js';
import { OciDir, putRandomGzipLayer } from '../test/helpers/oci-layout.js';
import { startRegistry } from '../test/helpers/registry.js';

const run = promisify(execFile);
const RUNS = Number(process.env['KILN_BENCH_RUNS'] ?? 3);
const TOTAL = Number(process.env['KILN_BENCH_REGISTRY_MB'] ?? 200) * 1e6;
const LAYERS = 4;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Times fn after flushing earlier writes (`sync`, untimed): kiln's store fsyncs every blob, and
 *  would otherwise pay for the writeback of whatever the previous step left dirty. */
async function time(fn: () => Promise<unknown>): Promise<number> {
  await run('sync');
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

export interface RegistryBenchResult {
  readonly bench: 'registry';
  readonly mb: number;
  readonly layers: number;
  readonly runs: number;
  readonly push: { kilnS: number; skopeoS: number; ratio: number; target: number; ok: boolean };
  readonly pull: { kilnS: number; skopeoS: number; ratio: number; target: number; ok: boolean };
}

export async function bench(): Promise<RegistryBenchResult> {
  const work = mkdtempSync(join(tmpdir(), 'kiln-bench-registry-'));
  try {
    const src = new OciDir(join(work, 'src'));
    const layers = [];
    const diffIds = [];
    for (let i = 0; i < LAYERS; i++) {
      const l = await putRandomGzipLayer(src, Math.round(TOTAL / LAYERS));
      layers.push(l.desc);
      diffIds.push(l.diffId);
    }
    const config = src.putBytes(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds } }), MediaType.OciConfig);
    const manifest = src.putBytes(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers }), MediaType.OciManifest);
    src.writeIndex([{ desc: manifest, tag: 'v1' }]);
    const mb = layers.reduce((a, l) => a + l.size, 0) / 1e6;

    const kp: number[] = [];
    const sp: number[] = [];
    const kl: number[] = [];
    const sl: number[] = [];
    const skopeo = (...args: string[]) => run('skopeo', ['--insecure-policy', ...args], { maxBuffer: 1 << 24 });
    for (let i = 0; i < RUNS; i++) {
      // Each push goes to its own fresh registry: skopeo's blob-info cache would otherwise mount
      // blobs the other tool pushed (a cross-repo mount moves no bytes) and time nothing.
      const regK = await startRegistry();
      const regS = await startRegistry();
      try {
        const ck = new RegistryClient(regK.host);
        const kilnPush = (): Promise<number> => time(() => push(ck, parseNormalizedReference(`${regK.host}/bench/kiln:v1`), manifest, src));
        const skopeoPush = (): Promise<number> => time(() => skopeo('copy', '--dest-tls-verify=false', `oci:${src.dir}:v1`, `docker://${regS.host}/bench/skopeo:v1`));
        // alternate who goes first so neither always gets the warmer page cache
        if (i % 2 === 0) {
          kp.push(await kilnPush());
          sp.push(await skopeoPush());
        } else {
          sp.push(await skopeoPush());
          kp.push(await kilnPush());
        }
        // pull what the other tool pushed
        const cs = new RegistryClient(regS.host);
        const kdest = join(work, `kiln-store-${i}`);
        const sdest = join(work, `skopeo-oci-${i}`);
        const kilnPull = (): Promise<number> => time(() => pull(cs, parseNormalizedReference(`${regS.host}/bench/skopeo:v1`), Store.open(kdest), { platform: 'linux/amd64', verifyLayers: false }));
        const skopeoPull = (): Promise<number> => time(() => skopeo('copy', '--src-tls-verify=false', `docker://${regK.host}/bench/kiln:v1`, `oci:${sdest}:v1`));
        if (i % 2 === 0) {
          kl.push(await kilnPull());
          sl.push(await skopeoPull());
        } else {
          sl.push(await skopeoPull());
          kl.push(await kilnPull());
        }
        ck.close();
        cs.close();
        rmSync(kdest, { recursive: true, force: true });
        rmSync(sdest, { recursive: true, force: true });
      } finally {
        await regK.stop();
        await regS.stop();
      }
    }
    const side = (k: number[], s: number[]) => {
      const ratio = median(k) / median(s);
      return { kilnS: r3(median(k)), skopeoS: r3(median(s)), ratio: r3(ratio), target: 1.2, ok: ratio <= 1.2 };
    };
    return { bench: 'registry', mb: r3(mb), layers: LAYERS, runs: RUNS, push: side(kp, sp), pull: side(kl, sl) };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Prints JSON lines: one per measurement. */
export async function main(): Promise<void> {
  const r = await bench();
  const common = { bench: 'registry', mb: r.mb, layers: r.layers, runs: r.runs };
  console.log(JSON.stringify({ ...common, name: 'push', ...r.push }));
  console.log(JSON.stringify({ ...common, name: 'pull', ...r.pull }));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
