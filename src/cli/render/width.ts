// Terminal cell widths, enough to cut lines to the terminal's width: East Asian wide characters
// and emoji take two cells, combining marks none, everything else one.

function cells(cp: number): number {
  if (cp === 0x200b || (cp >= 0x0300 && cp <= 0x036f) || (cp >= 0x1ab0 && cp <= 0x1aff) || (cp >= 0x20d0 && cp <= 0x20ff) || (cp >= 0xfe00 && cp <= 0xfe0f)) return 0;
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  ) {
    return 2;
  }
  return 1;
}

/** Cells `s` takes on a terminal (no escape sequences in `s`). */
export function textWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += cells(ch.codePointAt(0)!);
  return w;
}

/** The longest prefix of `s` that fits in `max` cells. */
export function cutToWidth(s: string, max: number): string {
  let w = 0;
  let out = '';
  for (const ch of s) {
    const c = cells(ch.codePointAt(0)!);
    if (w + c > max) break;
    w += c;
    out += ch;
  }
  return out;
}

/** `left` and `right` on one line of `width` cells: right-aligned `right`, `left` cut to make room. */
export function spread(left: string, right: string, width: number): string {
  const rw = textWidth(right);
  if (rw >= width) return cutToWidth(right, width);
  const l = cutToWidth(left, width - rw);
  return l + ' '.repeat(width - rw - textWidth(l)) + right;
}
