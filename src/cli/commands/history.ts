// `kiln history IMAGE` (docker history: IMAGE CREATED CREATED BY SIZE COMMENT, newest first,
// -H/--human, --no-trunc, -q, --format table|json|TEMPLATE) and the per-layer history that
// `kiln inspect` shows. A layer's SIZE is Docker's: the bytes of the files (and symlink targets)
// it holds, uncompressed, read once from the layer's tar and remembered per blob digest in
// <KILN_ROOT>/build/layer-sizes.json.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Readable } from 'node:stream';
import type { Command } from 'commander';
import { KilnError } from '../../errors.js';
import { parseConfig, parseManifest, type Descriptor, type Digest, type ImageConfig } from '../../image/index.js';
import { decompressLayer, readTar } from '../../layer/index.js';
import { resolveManifest, resolveStoreRoot, type RefEntry, type Store } from '../../store/index.js';
import { lookup } from './images-io.js';
import { humanAgo, humanSize, openStore, table } from './store.js';
import { replaceFile } from '../../support/index.js';

export interface HistoryRow {
  /** The image ID on the newest row, else `<missing>` (as docker shows for non-local parents). */
  readonly id: string;
  readonly created?: string;
  readonly createdBy: string;
  readonly comment: string;
  readonly emptyLayer: boolean;
  /** The layer this entry made (none for empty_layer entries). */
  readonly layer?: { readonly descriptor: Descriptor; readonly diffId: Digest };
  /** Uncompressed bytes of the layer (0 for an empty layer); set by withSizes. */
  size?: number;
}

/** Uncompressed sizes of layer blobs, remembered across runs. */
class LayerSizes {
  private readonly file: string;
  private data: Record<string, number>;
  private dirty = false;
  constructor(root: string) {
    this.file = join(root, 'build', 'layer-sizes.json');
    try {
      this.data = JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, number>;
    } catch {
      this.data = {};
    }
  }
  async get(store: Store, desc: Descriptor, signal?: AbortSignal): Promise<number> {
    const known = this.data[desc.digest];
    if (known !== undefined) return known;
    const blob = await store.open(desc.digest, signal);
    const tar = await decompressLayer(Readable.from(blob as AsyncIterable<Buffer>), desc.mediaType);
    let n = 0;
    for await (const e of readTar(tar, { errorCode: 'LAYER_INVALID', ...(signal ? { signal } : {}) })) {
      if (e.header.type === 'file') n += e.header.size;
      else if (e.header.type === 'symlink') n += Buffer.byteLength(e.header.linkname ?? '');
    }
    this.data[desc.digest] = n;
    this.dirty = true;
    return n;
  }
  save(): void {
    if (!this.dirty) return;
    try {
      mkdirSync(join(this.file, '..'), { recursive: true });
      replaceFile(this.file, JSON.stringify(this.data));
    } catch {
      /* only a speed-up */
    }
  }
}

/** The image's history, oldest first, each entry paired with the layer it made. */
export async function imageHistory(store: Store, entry: RefEntry): Promise<{ id: Digest; config: ImageConfig; rows: HistoryRow[] }> {
  const mdesc = await resolveManifest(store, entry.descriptor);
  const parsed = parseManifest(await store.readBytes(mdesc.digest), mdesc.mediaType);
  if (parsed.kind !== 'manifest') throw new KilnError('IMAGE_INVALID', `${entry.name}: expected an image manifest`);
  const m = parsed.manifest;
  const config = parseConfig(await store.readBytes(m.config.digest));
  const diffIds = config.rootfs.diff_ids;
  const rows: HistoryRow[] = [];
  let li = 0;
  for (const h of config.history ?? []) {
    const empty = h.empty_layer === true;
    const desc = empty ? undefined : m.layers[li];
    const diffId = empty ? undefined : diffIds[li];
    if (!empty) li++;
    rows.push({
      id: '<missing>',
      ...(h.created !== undefined ? { created: h.created } : {}),
      createdBy: h.created_by ?? '',
      comment: h.comment ?? '',
      emptyLayer: empty || desc === undefined,
      ...(desc && diffId ? { layer: { descriptor: desc, diffId } } : {}),
    });
  }
  // layers without a history entry (allowed by the spec): one row each, as docker shows them
  for (; li < m.layers.length; li++) rows.push({ id: '<missing>', createdBy: '', comment: '', emptyLayer: false, layer: { descriptor: m.layers[li]!, diffId: diffIds[li]! } });
  if (rows.length > 0) rows[rows.length - 1] = { ...rows[rows.length - 1]!, id: m.config.digest };
  return { id: m.config.digest, config, rows };
}

/** Fills in every row's uncompressed layer size (reading each layer once per KILN_ROOT). */
export async function withSizes(store: Store, rows: HistoryRow[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const sizes = new LayerSizes(resolveStoreRoot(env));
  try {
    for (const r of rows) r.size = r.layer ? await sizes.get(store, r.layer.descriptor) : 0;
  } finally {
    sizes.save();
  }
}

/** docker's stringutils.Ellipsis: at most `n` characters, the last one `…` when cut. */
function ellipsis(s: string, n: number): string {
  const chars = [...s];
  return chars.length <= n ? s : chars.slice(0, n - 1).join('') + '…';
}

const iso = (c: string | undefined): string => {
  const t = c === undefined ? NaN : Date.parse(c);
  return Number.isNaN(t) ? '' : new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
};

/** The fields docker's history formatter offers, as it renders them. */
export function historyFields(r: HistoryRow, opts: { human: boolean; trunc: boolean }, now = Date.now()): Record<string, string> {
  const createdBy = r.createdBy.replace(/\t/g, ' ');
  const id = r.id === '<missing>' ? r.id : opts.trunc ? r.id.replace(/^sha256:/, '').slice(0, 12) : r.id;
  const createdAt = iso(r.created);
  return {
    Comment: r.comment,
    CreatedAt: createdAt,
    CreatedBy: opts.trunc ? ellipsis(createdBy, 45) : createdBy,
    CreatedSince: opts.human ? humanAgo(r.created, now) : createdAt,
    ID: id,
    Size: opts.human ? humanSize(r.size ?? 0) : String(r.size ?? 0),
  };
}

/** A docker-style Go template with only field references: `{{.ID}}\t{{.Size}}`, `{{json .}}`. */
function applyTemplate(tpl: string, f: Record<string, string>): string {
  return tpl.replace(/\\t/g, '\t').replace(/\\n/g, '\n').replace(/\{\{\s*(json\s+)?\.(\w*)\s*\}\}/g, (whole, json: string | undefined, name: string) => {
    if (name === '') return JSON.stringify(f);
    if (!(name in f)) throw new KilnError('USAGE', `template: ${whole}: history has no field ${name} (fields: ${Object.keys(f).join(', ')})`);
    return json ? JSON.stringify(f[name]) : f[name]!;
  });
}

const HEADERS: Record<string, string> = { ID: 'IMAGE', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT' };

export function renderHistory(rows: readonly HistoryRow[], opts: { human: boolean; trunc: boolean; quiet: boolean; format?: string }, now = Date.now()): string {
  const newest = [...rows].reverse();
  const fields = newest.map((r) => historyFields(r, opts, now));
  if (opts.quiet) return fields.map((f) => `${f['ID']}\n`).join('');
  const fmt = opts.format ?? 'table';
  if (fmt === 'json') return fields.map((f) => `${JSON.stringify(f)}\n`).join('');
  if (fmt === 'table' || fmt.startsWith('table ')) {
    const tpl = fmt === 'table' ? `{{.ID}}\t{{.${opts.human ? 'CreatedSince' : 'CreatedAt'}}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}` : fmt.slice('table '.length);
    const names = [...tpl.replace(/\\t/g, '\t').matchAll(/\{\{\s*\.(\w+)\s*\}\}/g)].map((m) => m[1]!);
    const header = names.map((n) => HEADERS[n] ?? n.toUpperCase());
    const body = fields.map((f) => applyTemplate(tpl, f).split('\t'));
    return table([header, ...body]);
  }
  return fields.map((f) => `${applyTemplate(fmt, f)}\n`).join('');
}

export function registerHistory(program: Command): void {
  program
    .command('history')
    .description('Show the history of an image: one row per instruction, newest first, with the size of the layer it made')
    .argument('[image]', 'name or image ID')
    .option('-H, --human [bool]', 'print sizes and dates in human readable format', 'true')
    .option('--no-trunc', "don't truncate output")
    .option('-q, --quiet', 'only show image IDs')
    .option('--format <format>', "'table', 'table TEMPLATE', 'json' (one object per line) or a Go-style TEMPLATE ({{.ID}} {{.CreatedSince}} {{.CreatedAt}} {{.CreatedBy}} {{.Size}} {{.Comment}})")
    .action(async (image: string | undefined, opts: { human: string | boolean; trunc: boolean; quiet?: boolean; format?: string }) => {
      let human = String(opts.human).toLowerCase().replace(/^=/, ''); // -H=false
      let arg = image;
      // `-H IMAGE` (a bare boolean flag, as docker takes it): the parser gave IMAGE to -H
      if (arg === undefined && !['true', 'false', '1', '0'].includes(human)) {
        arg = String(opts.human);
        human = 'true';
      }
      if (arg === undefined) throw new KilnError('USAGE', '"kiln history" requires exactly 1 argument', { hint: 'kiln history [OPTIONS] IMAGE' });
      if (!['true', 'false', '1', '0'].includes(human)) throw new KilnError('USAGE', `invalid --human ${JSON.stringify(opts.human)}: use true or false`);
      const store = openStore();
      const { refs } = await lookup(store, arg);
      const { rows } = await imageHistory(store, refs[0]!);
      if (!opts.quiet) await withSizes(store, rows);
      process.stdout.write(renderHistory(rows, { human: human === 'true' || human === '1', trunc: opts.trunc, quiet: opts.quiet === true, ...(opts.format !== undefined ? { format: opts.format } : {}) }));
    });
}
