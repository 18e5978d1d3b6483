// A child process for the store's crash and concurrency tests: ingests random images, tags them,
// untags some and runs gc, in a loop. Usage:
//   node store-worker.js <root> <worker-id> <seed> <iterations|forever> <gc-grace-ms>
import { Store, gc } from '../../src/store/index.js';
import { addRandomImage, rng } from './random-image.js';

const [root, id, seedArg, itersArg, graceArg] = process.argv.slice(2);
if (!root || !id || !seedArg || !itersArg || !graceArg) {
  process.stderr.write('usage: store-worker <root> <id> <seed> <iterations|forever> <gc-grace-ms>\n');
  process.exit(2);
}
const next = rng(Number(seedArg));
const iterations = itersArg === 'forever' ? Infinity : Number(itersArg);
const graceMs = Number(graceArg);
const store = Store.open(root);

for (let i = 0; i < iterations; i++) {
  const seed = Math.floor(next() * 1e9);
  const { descriptor } = await addRandomImage(store, undefined, { seed, layers: 1 + Math.floor(next() * 3), maxBytes: 32 * 1024 });
  // ingest everything first (above), then name it: own rotating names + one name both workers share
  await store.tag([
    { name: `w${id}/img:${i % 4}`, descriptor },
    { name: `w${id}/img:last`, descriptor },
    { name: 'shared:latest', descriptor },
  ]);
  if (next() < 0.3) await store.untag([`w${id}/img:${Math.floor(next() * 4)}`]);
  if (i % 5 === 4) await gc(store, { graceMs });
  process.stdout.write(`${i} ${descriptor.digest}\n`);
}
