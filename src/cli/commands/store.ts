// Local image store commands: `kiln images`, `kiln tag`, `kiln rmi`, `kiln prune`, `kiln store verify`.
// All operate on the store at KILN_ROOT (see store/root.ts for the default).
import type { Command } from 'commander';
import { KilnError } from '../../errors.js';
import { digestHex, parseConfig, parseManifest, type Descriptor, type Digest } from '../../image/index.js';
import { Store, gc, resolveManifest, resolveStoreRoot, verify, type RefEntry } from '../../store/index.js';
import { beginPrune, cacheBlobRoots } from '../../build/index.js';
import { pruneBuildCache, type CachePruneFlags } from './cache.js';
import { join } from 'node:path';
import { displayName, lookupNames } from '../names.js';
import { tagName } from './build-flags.js';

export function openStore(env: NodeJS.ProcessEnv = process.env): Store {
  const store = Store.open(resolveStoreRoot(env));
  store.sweepDeadTemps(); // what an interrupted or killed kiln (build, pull, import, load) was writing
  return store;
}

/** docker's units.HumanSizeWithPrecision(size, 3): decimal units, 3 significant digits. */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(3))}${units[i]}`;
}

/** docker's units.HumanDuration + " ago". */
export function humanAgo(created: string | undefined, now: number = Date.now()): string {
  const t = created === undefined ? NaN : Date.parse(created);
  if (Number.isNaN(t) || t <= 0) return 'N/A';
  const s = Math.max(0, (now - t) / 1000);
  const ago = (x: string): string => `${x} ago`;
  if (s < 1) return ago('Less than a second');
  if (Math.floor(s) === 1) return ago('1 second');
  if (s < 60) return ago(`${Math.floor(s)} seconds`);
  const m = Math.floor(s / 60);
  if (m === 1) return ago('About a minute');
  if (m < 60) return ago(`${m} minutes`);
  const h = Math.floor(s / 3600 + 0.5);
  if (h === 1) return ago('About an hour');
  if (h < 48) return ago(`${h} hours`);
  if (h < 24 * 7 * 2) return ago(`${Math.floor(h / 24)} days`);
  if (h < 24 * 30 * 2) return ago(`${Math.floor(h / 24 / 7)} weeks`);
  if (h < 24 * 365 * 2) return ago(`${Math.floor(h / 24 / 30)} months`);
  return ago(`${Math.floor(h / 24 / 365)} years`);
}

/** "host:5000/a/b:tag" → ["host:5000/a/b", "tag"]; digests and untagged names get "<none>". */
export function splitName(name: string): [string, string] {
  const at = name.indexOf('@');
  if (at >= 0) return [name.slice(0, at), '<none>'];
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/')) return [name.slice(0, colon), name.slice(colon + 1)];
  return [name, '<none>'];
}

/** Columns like docker's tabwriter (min width 10, padding 3). */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(Math.max((widths[i] ?? 0) + 3, 10)))).join(''))
    .join('\n') + '\n';
}

interface ImageRow {
  readonly entry: RefEntry;
  readonly id: Digest; // config digest
  readonly created?: string;
  readonly size: number;
}

async function describe(store: Store, entry: RefEntry): Promise<ImageRow> {
  let desc: Descriptor;
  try {
    desc = await resolveManifest(store, entry.descriptor);
  } catch (e: unknown) {
    if (!(e instanceof KilnError && e.code === 'PLATFORM_NOT_FOUND')) throw e;
    const parsed = parseManifest(await store.readBytes(entry.descriptor.digest), entry.descriptor.mediaType);
    const first = parsed.kind === 'index' ? parsed.index.manifests.find((m) => m.platform) : undefined;
    if (!first) throw e;
    desc = await resolveManifest(store, first);
  }
  const parsed = parseManifest(await store.readBytes(desc.digest), desc.mediaType);
  if (parsed.kind !== 'manifest') throw new KilnError('INTERNAL', 'expected a manifest');
  const m = parsed.manifest;
  const config = parseConfig(await store.readBytes(m.config.digest));
  const size = m.config.size + m.layers.reduce((a, l) => a + l.size, 0);
  return { entry, id: m.config.digest, ...(config.created ? { created: config.created } : {}), size };
}

/** A name, or an image ID (config digest, possibly shortened) → the matching refs. */
export async function findImage(store: Store, arg: string): Promise<{ refs: RefEntry[]; byId: boolean }> {
  const refs = store.refs();
  for (const name of lookupNames(arg)) {
    const exact = refs.find((r) => r.name === name);
    if (exact) return { refs: [exact], byId: false };
  }
  const m = /^(?:sha256:)?([0-9a-f]{4,64})$/.exec(arg);
  if (m) {
    const rows = await Promise.all(refs.map((r) => describe(store, r)));
    const hit = rows.filter((r) => digestHex(r.id).startsWith(m[1]!) || digestHex(r.entry.descriptor.digest).startsWith(m[1]!));
    const ids = new Set(hit.map((r) => r.id));
    if (ids.size > 1) throw new KilnError('USAGE', `image ID ${arg} is ambiguous: it matches ${ids.size} images`, { hint: 'give more characters of the ID' });
    if (hit.length > 0) return { refs: hit.map((r) => r.entry), byId: true };
  }
  throw new KilnError('IMAGE_NOT_FOUND', `No such image: ${arg}`, { hint: 'list local images with `kiln images`' });
}

export function registerStore(program: Command): void {
  program
    .command('images')
    .description('List images in the local store (SIZE is the stored, compressed content size)')
    .option('-q, --quiet', 'only show image IDs')
    .option('--no-trunc', "don't truncate output")
    .action(async (opts: { quiet?: boolean; trunc: boolean }) => {
      const store = openStore();
      const broken: RefEntry[] = [];
      const rows: ImageRow[] = [];
      for (const r of store.refs()) {
        try {
          rows.push(await describe(store, r));
        } catch (e: unknown) {
          // One broken image must not hide the others: list it, and say why on stderr.
          process.stderr.write(`WARNING: ${r.name}: ${e instanceof Error ? e.message : String(e)}\n`);
          broken.push(r);
        }
      }
      rows.sort((a, b) => (Date.parse(b.created ?? '') || 0) - (Date.parse(a.created ?? '') || 0) || a.entry.name.localeCompare(b.entry.name));
      const id = (d: Digest): string => (opts.trunc ? digestHex(d).slice(0, 12) : d);
      if (opts.quiet) {
        process.stdout.write(rows.map((r) => id(r.id) + '\n').join(''));
        return;
      }
      const now = Date.now();
      const out = [['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE']];
      for (const r of rows) out.push([...splitName(displayName(r.entry.name)), id(r.id), humanAgo(r.created, now), humanSize(r.size)]);
      for (const r of broken) out.push([...splitName(displayName(r.name)), '<invalid>', 'N/A', 'N/A']);
      process.stdout.write(table(out));
    });

  program
    .command('tag')
    .description('Create a name TARGET_IMAGE that refers to SOURCE_IMAGE')
    .argument('<source>', 'SOURCE_IMAGE[:TAG] or image ID')
    .argument('<target>', 'TARGET_IMAGE[:TAG]')
    .action(async (source: string, target: string) => {
      const store = openStore();
      const name = tagName(target);
      const { refs } = await findImage(store, source);
      await store.tag({ name, descriptor: refs[0]!.descriptor });
    });

  program
    .command('rmi')
    .description('Remove one or more image names (space is reclaimed by `kiln prune`)')
    .argument('<image...>', 'names or image IDs')
    .option('-f, --force', 'remove every name of an image given by ID')
    .action(async (images: string[], opts: { force?: boolean }) => {
      const store = openStore();
      const failures: string[] = [];
      for (const arg of images) {
        try {
          const { refs, byId } = await findImage(store, arg);
          if (byId && refs.length > 1 && !opts.force) {
            throw new KilnError('USAGE', `conflict: unable to delete ${arg} (must be forced) - image is referenced in multiple repositories`, { hint: 'use -f, or remove the names one by one' });
          }
          for (const n of await store.untag(refs.map((r) => r.name))) process.stdout.write(`Untagged: ${n}\n`);
        } catch (e: unknown) {
          if (!(e instanceof KilnError) || (e.code !== 'IMAGE_NOT_FOUND' && e.code !== 'USAGE')) throw e;
          process.stderr.write(`Error: ${e.message}\n`);
          failures.push(arg);
        }
      }
      if (failures.length) process.exitCode = 1;
    });

  program
    .command('prune')
    .description('Remove blobs no image name or build-cache record references, and abandoned temporary files; with --keep-storage/--filter/--all, first prune the build cache')
    .option('-f, --force', 'do not prompt for confirmation (kiln never prompts; accepted for docker compatibility)')
    .option('--keep-storage <size>', 'build cache: remove least recently used steps until it takes at most SIZE (e.g. 10GB)')
    .option('--filter <until=duration>', 'build cache: remove steps not used for DURATION (e.g. until=24h)', (v: string, p: string[]) => [...p, v], [])
    .option('-a, --all', 'build cache: remove all of it (steps, snapshots, cache mounts)')
    .action(async (opts: CachePruneFlags) => {
      const cacheResult = await pruneBuildCache(opts);
      if (cacheResult) {
        process.stdout.write(`build cache: removed ${cacheResult.records} record${cacheResult.records === 1 ? '' : 's'} and ${cacheResult.snapshots} snapshot${cacheResult.snapshots === 1 ? '' : 's'} (${humanSize(cacheResult.reclaimedBytes)})\n`);
      }
      const store = openStore();
      const stateDir = join(resolveStoreRoot(process.env), 'build');
      // a running build has blobs no name refers to yet: refuse while one runs (as the cache prune does)
      const end = beginPrune(stateDir);
      let r;
      try {
        // the build cache's layer blobs are roots: a cached step keeps its layer
        r = await gc(store, { extraRoots: cacheBlobRoots(stateDir) });
      } finally {
        end();
      }
      for (const d of r.removed) process.stdout.write(`deleted: ${d}\n`);
      process.stdout.write(`\nTotal reclaimed space: ${humanSize(r.reclaimedBytes + (cacheResult?.reclaimedBytes ?? 0))}\n`);
    });

  const storeCmd = program.command('store').description('Manage the local content store');
  storeCmd
    .command('verify')
    .description('Recheck every blob against its digest and every image name against its blobs')
    .action(async () => {
      const store = openStore();
      const problems = await verify(store);
      if (problems.length > 0) {
        for (const p of problems) process.stdout.write(`${p}\n`);
        throw new KilnError('STORE_CORRUPT', `store ${store.root}: ${problems.length} problem${problems.length === 1 ? '' : 's'} found`, {
          hint: 'remove the affected images (kiln rmi) and pull or build them again',
        });
      }
      const n = (k: number, w: string): string => `${k} ${w}${k === 1 ? '' : 's'}`;
      process.stdout.write(`store ${store.root}: ${n(store.list().length, 'blob')} and ${n(store.refs().length, 'name')} verified, no problems\n`);
    });
  storeCmd.exitOverride();
}
