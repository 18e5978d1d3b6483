// Docker's own .dockerignore answers (moby/patternmatcher MatchesOrParentMatches after
// ignorefile.ReadAll), read in place from ../shared/corpus/dockerignore/cases.jsonl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IgnoreMatcher, parseDockerignore } from '../../src/context/index.js';
import { corpusDir, prereq } from '../helpers/prereq.js';

const corpus = corpusDir();
const CASES = corpus === undefined ? undefined : join(corpus, 'dockerignore', 'cases.jsonl');

// Checks where this corpus disagrees with moby/patternmatcher v0.6.0 as we read its source.
// `a/**b` compiles to the Go regexp ^a/(.*/)?b$, which cannot match `a/x/yb` (the `(.*/)?`
// group must end in '/', leaving `yb` for `b`), and no parent ('a', 'a/x') matches either;
// `a/b` true and `a/xb` false in the same line agree with that regexp. Kept explicit (not
// skipped): the test fails if the listed check starts agreeing or another one disagrees.
const KNOWN_DISAGREEMENTS = new Map([['a/**b\0a/x/yb', true]]);

interface Case {
  ignore: string;
  excluded: Record<string, boolean>;
}

test('cases.jsonl: every path is excluded exactly when Docker excludes it', (t) => {
  if (!prereq(t, CASES !== undefined && existsSync(CASES), '.dockerignore corpus at ../shared/corpus/dockerignore/cases.jsonl')) return;
  const lines = readFileSync(CASES!, 'utf8').split('\n').filter((l) => l.trim() !== '');
  let checks = 0;
  let disagreements = 0;
  const failures: string[] = [];
  for (const line of lines) {
    const c = JSON.parse(line) as Case;
    const m = new IgnoreMatcher(parseDockerignore(c.ignore));
    for (const [path, want] of Object.entries(c.excluded)) {
      checks++;
      const got = m.excluded(path);
      const known = KNOWN_DISAGREEMENTS.get(`${c.ignore}\0${path}`);
      if (known !== undefined) {
        disagreements++;
        if (got === want || want !== known) failures.push(`${JSON.stringify(c.ignore)}: ${path}: the known disagreement is gone; drop it`);
      } else if (got !== want) failures.push(`${JSON.stringify(c.ignore)}: ${path} excluded=${got}, want ${want}`);
      // A directory the walker may skip must not hold anything that is kept.
      if (!want) {
        for (const parent of ancestors(path)) {
          if (m.canSkipDir(parent)) failures.push(`${JSON.stringify(c.ignore)}: canSkipDir(${parent}) but ${path} is kept`);
        }
      }
    }
  }
  assert.deepEqual(failures, []);
  assert.equal(lines.length, 45);
  assert.equal(checks, 107);
  assert.equal(disagreements, KNOWN_DISAGREEMENTS.size);
});

function ancestors(path: string): string[] {
  const parts = path.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}
