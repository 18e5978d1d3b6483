// Small text helpers that reproduce Go standard-library behaviour exactly, for code that must
// agree byte-for-byte with Docker/BuildKit (which are written in Go): unicode.IsSpace,
// strings.TrimSpace and path.Clean (= filepath.Clean on Unix).

/** Go's `unicode.IsSpace`: Latin-1 spaces plus the Unicode White_Space property. */
export function isGoSpace(cp: number): boolean {
  if (cp <= 0xff) {
    return cp === 0x20 || (cp >= 0x09 && cp <= 0x0d) || cp === 0x85 || cp === 0xa0;
  }
  return (
    cp === 0x1680 ||
    (cp >= 0x2000 && cp <= 0x200a) ||
    cp === 0x2028 ||
    cp === 0x2029 ||
    cp === 0x202f ||
    cp === 0x205f ||
    cp === 0x3000
  );
}

/** Go's `strings.TrimSpace`: trims leading and trailing `unicode.IsSpace` characters. */
export function goTrimSpace(s: string): string {
  let start = 0;
  let end = s.length;
  // All Go space characters are in the BMP, so UTF-16 code units are enough here.
  while (start < end && isGoSpace(s.charCodeAt(start))) start++;
  while (end > start && isGoSpace(s.charCodeAt(end - 1))) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

/**
 * Go's `path.Clean` (identical to `filepath.Clean` on Unix): the shortest equivalent path by
 * purely lexical processing. Repeated slashes collapse, `.` elements go, `..` eats the element
 * before it (and is dropped right after a leading `/`), a trailing slash goes, and an empty
 * result becomes `.`.
 */
export function goCleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.charCodeAt(0) === 0x2f;
  const out: string[] = [];
  let dotdots = 0; // leading '..' elements that cannot be eaten (relative paths only)
  for (const el of p.split('/')) {
    if (el === '' || el === '.') continue;
    if (el === '..') {
      if (out.length > dotdots) out.pop();
      else if (!rooted) {
        out.push('..');
        dotdots++;
      }
      continue;
    }
    out.push(el);
  }
  const body = out.join('/');
  if (rooted) return '/' + body;
  return body === '' ? '.' : body;
}
