// Golden tests (kiln only) for Dockerfile features BuildKit v0.13's built-in frontend lacks, so
// the reference engine cannot be run on them: COPY --parents and COPY/ADD --exclude
// (dockerfile 1.7-labs). Each case in test/conformance/golden/<name>/ has a Dockerfile, a
// setup.sh making its context, and expected.json: the trees under `paths` of the built image's
// flattened rootfs, written by hand from BuildKit's source (never generated from kiln's output).
import { after, before, test, type TestContext } from 'node:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../src/store/index.js';
import { runKiln } from '../helpers/cli.js';
import { isRoot, prereq, which } from '../helpers/prereq.js';
import { haveBusybox } from '../helpers/busybox-rootfs.js';
import { diffTrees, walkTree, type Tree } from '../helpers/tree-compare.js';
import { assertConforms, flattenKilnImage, listCases, prepareContext, seedKilnStore, type KnownFailure } from '../helpers/conformance-cases.js';

const THIS_FILE = 'test/conformance/kiln-golden.test.ts';
/** Same rules as in buildkit-diff.test.ts: exact expected differences, never skips. */
const KNOWN_FAILURES = new Map<string, KnownFailure>([]);

const CASES = listCases('golden');
const ready = isRoot && haveBusybox() && which('runc') !== undefined;
let work = '';
let store: Store | undefined;

before(async () => {
  if (!ready) return;
  work = mkdtempSync(join(tmpdir(), 'kiln-golden-'));
  store = await seedKilnStore(join(work, 'kiln-root'), work);
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the golden cases exist', () => {
  const names = CASES.map((c) => c.name);
  for (const n of ['copy-parents', 'copy-exclude']) if (!names.includes(n)) throw new Error(`missing golden case ${n}`);
  for (const n of KNOWN_FAILURES.keys()) if (!names.includes(n)) throw new Error(`KNOWN_FAILURES names a missing case ${n}`);
});

for (const c of CASES) {
  test(`kiln golden: ${c.name}`, async (t: TestContext) => {
    if (!prereq(t, ready, 'root, runc and busybox-static')) return;
    const expected = JSON.parse(readFileSync(join(c.dir, 'expected.json'), 'utf8')) as { paths: string[]; tree: Tree };
    const ctx = prepareContext(c, join(work, 'ctx', c.name));
    const name = `conformance-golden/${c.name}:latest`;
    const r = await runKiln(['build', '--progress', 'plain', '-t', name, ...c.args, ctx], { env: { KILN_ROOT: store!.root }, timeoutMs: 120_000 });
    let diffs: string[];
    if (r.code !== 0) {
      diffs = [`kiln build exited ${r.code ?? r.signal}:\n${(r.stderr + r.stdout).trimEnd().split('\n').slice(-25).join('\n')}`];
    } else {
      const rootfs = join(work, 'rootfs', c.name);
      await flattenKilnImage(store!, `docker.io/${name}`, rootfs);
      const actual: Tree = {};
      for (const p of expected.paths) Object.assign(actual, walkTree(rootfs, { under: p }));
      diffs = diffTrees(expected.tree, actual, ['expected', 'kiln']);
    }
    assertConforms(c.name, diffs, KNOWN_FAILURES.get(c.name), THIS_FILE, 'expected.json');
  });
}
