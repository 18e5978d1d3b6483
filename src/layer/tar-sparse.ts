// GNU sparse files in PAX archives (GNU tar --sparse --format=posix, versions 0.0, 0.1 and 1.0),
// read as Go's archive/tar reads them, so ADD gives what BuildKit gives: a plain file of the
// real size whose holes read as zeros. The entry's data holds only the fragments that are not
// holes (for 1.0 after a map of them in the first blocks). The old GNU type 'S' is not this: Go
// leaves it as its own type and moby refuses it, and so does kiln.
import type { ErrorCode } from '../errors.js';
import { BLOCK, MAX_SPECIAL_SIZE, fail } from './tar-format.js';

/** One data fragment: [offset in the real file, length]. */
export type Fragment = readonly [number, number];

export interface SparsePax {
  /** Format 1.0: the map sits in the entry's data. */
  readonly v1: boolean;
  /** The real file's name (GNU.sparse.name), when given. */
  readonly name?: string;
  /** The real file's size (GNU.sparse.size or GNU.sparse.realsize), when given. */
  readonly realSize?: number;
  /** Formats 0.0 and 0.1: the map from the PAX records. */
  readonly map?: readonly Fragment[];
}

/** Go's strconv.ParseInt(s, 10, 64) within JavaScript's safe integers. */
function int(s: string | undefined): number | undefined {
  if (s === undefined || !/^[+-]?[0-9]{1,16}$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * The GNU sparse records of an entry's PAX header (Go's readGNUSparsePAXHeaders), or undefined
 * when the entry is not a sparse file (or names a sparse version Go does not know, which Go
 * then reads as a plain file too).
 */
export function sparseFromPax(pax: ReadonlyMap<string, Buffer>, label: string, code: ErrorCode): SparsePax | undefined {
  const get = (k: string) => pax.get(`GNU.sparse.${k}`)?.toString('utf8');
  const major = get('major') ?? '';
  const minor = get('minor') ?? '';
  let v1: boolean;
  if (major === '0' && (minor === '0' || minor === '1')) v1 = false;
  else if (major === '1' && minor === '0') v1 = true;
  else if (major !== '' || minor !== '') return undefined;
  else if ((get('map') ?? '') !== '') v1 = false; // 0.0 and 0.1 had no version records
  else return undefined;
  const sizeText = get('size') ?? get('realsize');
  const realSize = sizeText === undefined || sizeText === '' ? undefined : int(sizeText);
  if (realSize === undefined && sizeText !== undefined && sizeText !== '') fail(code, `GNU sparse size ${JSON.stringify(sizeText)} of ${label} is not a number`);
  const name = get('name');
  const base = { v1, ...(name ? { name } : {}), ...(realSize !== undefined ? { realSize } : {}) };
  if (v1) return base;
  // 0.x: GNU.sparse.numblocks entries as "offset,length,..." in GNU.sparse.map
  const count = int(get('numblocks'));
  const fields = (get('map') ?? '') === '' ? [] : get('map')!.split(',');
  if (count === undefined || count < 0 || fields.length !== 2 * count) fail(code, `the GNU sparse map of ${label} does not match its block count`);
  return { ...base, map: pairs(fields, label, code) };
}

function pairs(fields: readonly string[], label: string, code: ErrorCode): Fragment[] {
  const out: Fragment[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const off = int(fields[i]);
    const len = int(fields[i + 1]);
    if (off === undefined || len === undefined) fail(code, `the GNU sparse map of ${label} holds a value that is not a number`);
    out.push([off, len]);
  }
  return out;
}

/**
 * Reads a 1.0 map from the start of the entry's data, whole blocks at a time (Go's
 * readGNUSparseMap1x0): a count, then an offset and a length per fragment, one per line.
 */
export async function readSparseMap1x0(readBlock: () => Promise<Buffer>, label: string, code: ErrorCode): Promise<Fragment[]> {
  let text = '';
  let lines = 0;
  const need = async (n: number) => {
    while (lines < n) {
      if (text.length + BLOCK > MAX_SPECIAL_SIZE) fail(code, `the GNU sparse map of ${label} is too large (limit ${MAX_SPECIAL_SIZE} bytes)`);
      const b = await readBlock();
      for (const c of b) if (c === 0x0a) lines++;
      text += b.toString('latin1');
    }
  };
  await need(1);
  const tokens = () => text.split('\n');
  const count = int(tokens()[0]);
  if (count === undefined || count < 0) fail(code, `the GNU sparse map of ${label} has no valid fragment count`);
  await need(1 + 2 * count);
  return pairs(tokens().slice(1, 1 + 2 * count), label, code);
}

/** Go's validateSparseEntries: fragments in order, not overlapping, inside the real size. */
export function checkFragments(frags: readonly Fragment[], size: number, label: string, code: ErrorCode): void {
  let end = 0;
  for (const [off, len] of frags) {
    if (off < 0 || len < 0 || off + len > size || end > off || !Number.isSafeInteger(off + len)) {
      fail(code, `the GNU sparse map of ${label} has a fragment [${off}, +${len}] out of order or outside the ${size}-byte file`);
    }
    end = off + len;
  }
}

const ZEROS = Buffer.alloc(1 << 20);

/**
 * The real file's bytes: zeros for the holes, the entry's data for the fragments. `take(n)`
 * gives up to n bytes of the entry's data (failing when it is truncated); `left()` is what is
 * left of it, which must be nothing at the end (Go: "unreferenced sparse data").
 */
export async function* expandSparse(frags: readonly Fragment[], size: number, take: (n: number) => Promise<Buffer>, left: () => number, label: string, code: ErrorCode): AsyncGenerator<Buffer> {
  let pos = 0;
  const zeros = function* (to: number) {
    while (pos < to) {
      const n = Math.min(to - pos, ZEROS.length);
      pos += n;
      yield ZEROS.subarray(0, n);
    }
  };
  for (const [off, len] of frags) {
    yield* zeros(off);
    let want = len;
    while (want > 0) {
      if (left() === 0) fail(code, `tar entry ${label} has less sparse data than its map says`);
      const c = await take(want);
      want -= c.length;
      pos += c.length;
      yield c;
    }
  }
  yield* zeros(size);
  if (left() > 0) fail(code, `tar entry ${label} has sparse data that its map does not refer to`);
}
