// planBuild over BuildKit's parser corpus (read in place from ../shared/corpus): every Dockerfile
// that parses plans for every target, or fails with a located, non-internal KilnError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isKilnError } from '../src/errors.js';
import { parse, toStages } from '../src/dockerfile/index.js';
import type { Digest } from '../src/image/index.js';
import { planBuild, type ResolveImage } from '../src/plan/index.js';
import { corpusDir, prereq } from './helpers/prereq.js';

const corpus = corpusDir();
const DIR = corpus === undefined ? undefined : join(corpus, 'buildkit', 'frontend', 'dockerfile', 'parser', 'testfiles');

const resolver: ResolveImage = async (ref, platform) => ({
  ref,
  digest: `sha256:${'1'.repeat(64)}` as Digest,
  config: { architecture: platform.architecture, os: platform.os, config: { Env: ['PATH=/bin'], OnBuild: [] }, rootfs: { type: 'layers', diff_ids: [] } },
});

test('every parseable BuildKit corpus Dockerfile plans for every target (or fails with a located error)', async (t) => {
  if (!prereq(t, DIR !== undefined && existsSync(DIR), 'BuildKit parser corpus (../shared/corpus)')) return;
  let planned = 0;
  let steps = 0;
  const problems: string[] = [];
  for (const name of readdirSync(DIR!).sort()) {
    const file = join(DIR!, name, 'Dockerfile');
    if (!existsSync(file)) continue;
    let stages;
    let ast;
    try {
      ast = parse(readFileSync(file, 'utf8'));
      stages = toStages(ast);
    } catch {
      continue; // the parser's business, covered by its own tests
    }
    for (const st of stages.stages) {
      try {
        const p = await planBuild(
          {
            stages,
            ...(st.name ? { target: st.name } : {}),
            buildArgs: new Map(),
            targetPlatform: { os: 'linux', architecture: 'amd64' },
            buildPlatform: { os: 'linux', architecture: 'amd64' },
            sourceLines: ast.lines,
            file: ast.file,
            escapeToken: ast.directives.escape,
          },
          resolver,
        );
        planned++;
        for (const s of p.stages) {
          steps += s.steps.length;
          assert.ok(s.config.history!.length >= s.history.length, `${name}: history`);
          for (const step of s.steps) if (step.kind === 'run') assert.ok(step.argv.length > 0 && step.cwd.startsWith('/'), `${name}: run step`);
        }
      } catch (e) {
        if (!isKilnError(e) || e.code === 'INTERNAL' || !e.location?.length) problems.push(`${name}: ${String(e)}`);
      }
    }
  }
  assert.deepEqual(problems, []);
  assert.ok(planned >= 20, `planned only ${planned} corpus cases`);
  assert.ok(steps > 50, `only ${steps} steps`);
});
