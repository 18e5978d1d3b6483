// Enforces the one-way data flow of docs/design/layout.md: a folder imports only from folders on
// lower levels, never from a sibling on its own level, and only through the other folder's index.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';
import { PROJECT_ROOT } from './helpers/cli.js';

const LEVEL: Record<string, number> = {
  'errors.ts': -1, // every folder may throw KilnError
  support: 0,
  image: 1, dockerfile: 1,
  store: 2, layer: 2, context: 2, registry: 2, exec: 2, progress: 2,
  snapshot: 3, cache: 3, plan: 3,
  build: 4,
  export: 5,
  cli: 6,
};

function tsFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) tsFiles(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

test('src/ folders import only lower levels, through index.js', () => {
  const src = join(PROJECT_ROOT, 'src');
  const problems: string[] = [];
  for (const file of tsFiles(src)) {
    const rel = relative(src, file);
    const top = rel.split('/')[0]!;
    const myLevel = LEVEL[top];
    if (myLevel === undefined) {
      problems.push(`${rel}: folder ${top} has no level in test/layering.test.ts (add it, see docs/design/layout.md)`);
      continue;
    }
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'";]*?from\s+['"](\.[^'"]+)['"]/g)) {
      const spec = m[1]!;
      const target = relative(src, resolve(dirname(file), spec));
      const ttop = target.split('/')[0]!;
      if (ttop === top) continue; // inside the same folder
      const tLevel = LEVEL[ttop.replace(/\.js$/, '.ts')];
      if (tLevel === undefined) { problems.push(`${rel}: imports ${spec} outside src/ folders`); continue; }
      if (tLevel >= myLevel) problems.push(`${rel} (level ${myLevel}) imports ${spec} (level ${tLevel})`);
      const isIndex = target === ttop || /^[^/]+\/index\.js$/.test(target) || ttop.endsWith('.js');
      if (!isIndex) problems.push(`${rel}: deep import ${spec}; import from ${ttop}/index.js`);
    }
  }
  assert.deepEqual(problems, []);
});
