#!/usr/bin/env node
// Prints the demo's size comparison: the final image against the image the builder stage
// started from (node:20, which the final image does not ship), from `kiln inspect`.
import { execFileSync } from 'node:child_process';

const [finalName, builderBase] = process.argv.slice(2);
const inspect = (name) => JSON.parse(execFileSync(process.execPath, ['bin/kiln.js', 'inspect', name], { encoding: 'utf8' }))[0];
const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;
const f = inspect(finalName);
const b = inspect(builderBase);
const size = (i) => i.Size ?? 0;
console.log(`final image ${finalName}: ${mb(size(f))} compressed, ${f.RootFS?.Layers?.length ?? '?'} layers`);
console.log(`builder base ${builderBase}: ${mb(size(b))} compressed — not shipped`);
if (size(b) > 0) console.log(`the final image is ${(size(b) / Math.max(1, size(f))).toFixed(1)}x smaller than the builder's base alone`);
