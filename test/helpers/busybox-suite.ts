// One end-to-end test file's kiln store with `busybox:latest` in it: made before the file's tests
// when root, runc and busybox-static are there (else each test skips, or fails under CI=true),
// removed after them; and the real CLI run against it.
import { after, before, type TestContext } from 'node:test';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runKiln, type CliResult } from './cli.js';
import { isRoot, prereq, which } from './prereq.js';
import { haveBusybox } from './busybox-rootfs.js';
import { busyboxStore } from './kiln-image.js';

const NEEDS = 'root, runc and busybox-static';

export class BusyboxSuite {
  /** The temp dir holding the store ('' before the file's tests start, or without the prerequisites). */
  work = '';
  /** The store (KILN_ROOT). */
  root = '';
  readonly ready = isRoot && which('runc') !== undefined && haveBusybox();

  /** `setup` runs once after the store is made (more images, shared contexts). */
  constructor(prefix: string, setup?: (s: BusyboxSuite) => Promise<void> | void) {
    before(async () => {
      if (!this.ready) return;
      ({ work: this.work, root: this.root } = await busyboxStore(prefix));
      await setup?.(this);
    });
    after(() => {
      if (this.work) execFileSync('rm', ['-rf', this.work]);
    });
  }

  /** Whether the test can run: the suite's prerequisites, and `more` of its own (named in `what`). */
  check(t: TestContext, more?: { ok: boolean; what: string }): boolean {
    return prereq(t, this.ready && (more?.ok ?? true), more ? `${NEEDS}, ${more.what}` : NEEDS);
  }

  /** The CLI with this store; `env` adds to (or, with undefined, removes from) the environment. */
  kiln(args: readonly string[], env: Record<string, string | undefined> = {}, cwd?: string): Promise<CliResult> {
    return runKiln(args, { env: { KILN_ROOT: this.root, ...env }, timeoutMs: 120_000, ...(cwd !== undefined ? { cwd } : {}) });
  }

  /** A context directory `name` under the work dir with this Dockerfile. */
  context(name: string, dockerfile: string): string {
    const dir = join(this.work, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'Dockerfile'), dockerfile);
    return dir;
  }
}
