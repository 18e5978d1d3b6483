// JSON.stringify(value, null, 2), written piece by piece: a plan of thousands of stages, each
// with its whole inherited config, is larger than the longest string V8 makes (~512 MiB), so
// `kiln debug plan` printed "Invalid string length" instead of the plan.

/** Writes what `JSON.stringify(value, null, 2)` returns, in pieces of up to ~64 KiB, to `write`. */
export function writeJson(value: unknown, write: (text: string) => void): void {
  let buf = '';
  const out = (s: string): void => {
    buf += s;
    if (buf.length >= 65536) {
      write(buf);
      buf = '';
    }
  };
  // JSON.stringify's rules: toJSON first; functions, symbols and undefined are skipped in objects
  // and null in arrays; a leaf is written by JSON.stringify itself
  const prepare = (v: unknown, key: string): unknown => {
    // (a leaf's own toJSON, e.g. a BigInt's, is JSON.stringify's business in emit)
    const j = v as { toJSON?: (k: string) => unknown } | null;
    return j !== null && typeof j === 'object' && typeof j.toJSON === 'function' ? j.toJSON(key) : v;
  };
  const skipped = (v: unknown): boolean => v === undefined || typeof v === 'function' || typeof v === 'symbol';
  const emit = (v: unknown, indent: string): void => {
    if (v === null || typeof v !== 'object') {
      out(JSON.stringify(v) ?? 'null');
      return;
    }
    const inner = `${indent}  `;
    if (Array.isArray(v)) {
      if (v.length === 0) return out('[]');
      out('[');
      v.forEach((item, i) => {
        out(`${i === 0 ? '' : ','}\n${inner}`);
        const p = prepare(item, String(i));
        if (skipped(p)) out('null');
        else emit(p, inner);
      });
      out(`\n${indent}]`);
      return;
    }
    let first = true;
    for (const [k, item] of Object.entries(v)) {
      const p = prepare(item, k);
      if (skipped(p)) continue;
      out(`${first ? '{' : ','}\n${inner}${JSON.stringify(k)}: `);
      first = false;
      emit(p, inner);
    }
    out(first ? '{}' : `\n${indent}}`);
  };
  const top = prepare(value, '');
  if (!skipped(top)) emit(top, '');
  if (buf !== '') write(buf);
}
