// The build cache from the command line: `kiln du` (what it holds per stage and step) and the
// build-cache part of `kiln prune` (--keep-storage, --filter until=, --all).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { KilnError } from '../../errors.js';
import { cacheUsage, pruneCache, type PruneResult } from '../../build/index.js';
import { createSnapshotter } from '../../snapshot/index.js';
import { resolveStoreRoot } from '../../store/index.js';
import { humanAgo, humanSize, table } from './store.js';

/** `10GB`, `512MiB`, `1.5g`, `2000000` (bytes) → bytes. Decimal units like docker's RAMInBytes accepts both. */
export function parseSize(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?)(b?)\s*$/i.exec(s);
  if (!m) throw new KilnError('USAGE', `invalid size ${JSON.stringify(s)}`, { hint: 'use e.g. 500MB, 10GB or a number of bytes' });
  const pow = ' kmgtp'.indexOf((m[2] || ' ').toLowerCase());
  const base = m[3] ? 1024 : 1000;
  return Math.floor(Number(m[1]) * base ** pow);
}

/** Go-style durations (`24h`, `90m`, `1h30m`, `10s`) plus days (`7d`) → ms. */
export function parseDuration(s: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  let total = 0;
  let matched = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * unit[m[2]!]!;
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== s.length) throw new KilnError('USAGE', `invalid duration ${JSON.stringify(s)}`, { hint: 'use e.g. 24h, 90m, 7d' });
  return total;
}

export interface CachePruneFlags {
  keepStorage?: string;
  filter: string[];
  all?: boolean;
}

/** The build-cache part of `kiln prune`; undefined when no flag asks for it. */
export async function pruneBuildCache(flags: CachePruneFlags, env: NodeJS.ProcessEnv = process.env): Promise<PruneResult | undefined> {
  let unusedSince: number | undefined;
  for (const f of flags.filter) {
    const eq = f.indexOf('=');
    const k = eq < 0 ? f : f.slice(0, eq);
    if (k !== 'until' || eq < 0) throw new KilnError('USAGE', `unsupported --filter ${JSON.stringify(f)}`, { hint: 'kiln supports --filter until=DURATION (e.g. until=24h)' });
    unusedSince = Date.now() - parseDuration(f.slice(eq + 1));
  }
  const keepBytes = flags.keepStorage !== undefined ? parseSize(flags.keepStorage) : undefined;
  if (unusedSince === undefined && keepBytes === undefined && !flags.all) return undefined;
  const root = resolveStoreRoot(env);
  const stateDir = join(root, 'build');
  if (!existsSync(join(stateDir, 'cache'))) return { records: 0, snapshots: 0, reclaimedBytes: 0 };
  const snapshotter = await createSnapshotter(join(root, 'snapshots'));
  return pruneCache(stateDir, snapshotter, {
    ...(unusedSince !== undefined ? { unusedSince } : {}),
    ...(keepBytes !== undefined ? { keepBytes } : {}),
    ...(flags.all ? { all: true } : {}),
  });
}

export function registerCache(program: Command): void {
  program
    .command('du')
    .description('Show what the build cache holds: per stage and step, the size each step added, and when it was last used')
    .option('-v, --verbose', 'show every record, also base-image layers')
    .action(async (opts: { verbose?: boolean }) => {
      const root = resolveStoreRoot(process.env);
      const stateDir = join(root, 'build');
      if (!existsSync(join(stateDir, 'cache'))) {
        process.stdout.write('build cache is empty\n');
        return;
      }
      const snapshotter = await createSnapshotter(join(root, 'snapshots'));
      const u = await cacheUsage(stateDir, snapshotter);
      const now = Date.now();
      const rows: string[][] = [['STAGE', 'STEP', 'SIZE', 'LAST USED', 'KEY']];
      const steps = u.items.filter((i) => i.kind === 'step').sort((a, b) => (a.record.meta?.stage ?? '').localeCompare(b.record.meta?.stage ?? '') || (a.record.meta?.pos ?? '').localeCompare(b.record.meta?.pos ?? '', undefined, { numeric: true }) || b.lastUsed - a.lastUsed);
      for (const it of steps) {
        const m = it.record.meta;
        const step = m ? `${m.pos} ${m.display}` : '(unknown step)';
        rows.push([m?.stage ?? '?', step.length > 60 ? `${step.slice(0, 57)}...` : step, humanSize(it.size), humanAgo(new Date(it.lastUsed).toISOString(), now), it.name.slice(0, 12)]);
      }
      const bases = u.items.filter((i) => i.kind === 'base');
      if (opts.verbose) for (const it of bases) rows.push(['(base image)', 'layer', humanSize(it.size), humanAgo(new Date(it.lastUsed).toISOString(), now), it.name.slice('chain-'.length, 'chain-'.length + 12)]);
      process.stdout.write(table(rows));
      const layers = u.items.filter((i) => i.kind === 'layer' && i.record.layer && !('empty' in i.record.layer));
      const layerBytes = layers.reduce((a, i) => a + (i.record.layer && !('empty' in i.record.layer) ? i.record.layer.size : 0), 0);
      process.stdout.write(
        `\nsteps: ${steps.length}, base-image layers: ${bases.length}, snapshots: ${humanSize(u.snapshotBytes)}, ` +
          `layer blobs: ${layers.length} (${humanSize(layerBytes)}), cache mounts: ${humanSize(u.cacheMountBytes)}\n`,
      );
    });
}
