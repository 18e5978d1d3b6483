// The size report printed at the end of `kiln build`: the final image, layer by layer with the
// instruction that made it (base-image layers as one line), then every intermediate stage with
// how much of it the final image does not ship.
import type { SizeReport } from '../../build/index.js';
import { limitString } from './format.js';

/** Decimal units like docker's: `512 B`, `4.10 kB`, `61.2 MB`, `612 MB`, `1.25 GB`. */
export function humanSize(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let i = 0;
  while (v >= 999.5 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[i]}`;
}

/** `RUN /bin/sh -c npm ci # buildkit` → `RUN /bin/sh -c npm ci`. */
function instruction(createdBy: string): string {
  return createdBy.replace(/\s*# buildkit$/, '').replace(/\s+/g, ' ').trim() || '(unknown)';
}

const unknown = '?';

export function renderSizeReport(r: SizeReport, opts: { width?: number; imageName?: string } = {}): string {
  const width = Math.max(60, opts.width ?? 100);
  const out: string[] = [];
  const name = opts.imageName ?? `stage ${r.target}`;
  const layerCount = r.layers.reduce((a, l) => a + l.layers, 0);
  out.push(`image ${name}: ${humanSize(r.compressed)} compressed, ${r.uncompressed === undefined ? unknown : humanSize(r.uncompressed)} uncompressed, ${layerCount} layer${layerCount === 1 ? '' : 's'}`);
  const rows = r.layers.map((l) => ({
    c: humanSize(l.compressed),
    u: l.uncompressed === undefined ? unknown : humanSize(l.uncompressed),
    what: l.base ? `${l.createdBy} (${l.layers} layer${l.layers === 1 ? '' : 's'})` : instruction(l.createdBy),
  }));
  const cw = Math.max('COMPRESSED'.length, ...rows.map((x) => x.c.length));
  const uw = Math.max('UNCOMPRESSED'.length, ...rows.map((x) => x.u.length));
  const room = width - 2 - cw - 2 - uw - 2;
  out.push(`  ${'COMPRESSED'.padStart(cw)}  ${'UNCOMPRESSED'.padStart(uw)}  CREATED BY`);
  for (const x of rows) out.push(`  ${x.c.padStart(cw)}  ${x.u.padStart(uw)}  ${limitString(x.what, room)}`);
  if (r.stages.length > 0) {
    out.push('intermediate stages (built, not the image):');
    for (const s of r.stages) {
      const kept = s.bytes - s.notShipped;
      const tail = s.notShipped === s.bytes ? 'not shipped' : s.notShipped === 0 ? 'all of it shipped (the image is built on it)' : `${humanSize(s.notShipped)} not shipped (${humanSize(kept)} is shared with the image)`;
      out.push(`  ${s.name} (FROM ${s.from}): ${humanSize(s.bytes)}, ${tail}`);
    }
    const biggest = [...r.stages].sort((a, b) => b.bytes - a.bytes)[0]!;
    if (r.uncompressed !== undefined && r.uncompressed > 0 && biggest.notShipped > 0 && biggest.bytes > r.uncompressed) {
      out.push(`final image ${humanSize(r.uncompressed)} vs ${biggest.name} ${humanSize(biggest.bytes)}: ${(biggest.bytes / r.uncompressed).toFixed(1)}x smaller`);
    }
  }
  return out.join('\n') + '\n';
}
