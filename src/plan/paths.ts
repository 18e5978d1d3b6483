// Container paths the way BuildKit resolves them on Linux (util/system NormalizePath, Go's
// path.Clean/Join): WORKDIR, COPY/ADD destinations, RUN --mount targets.

/** Go's path.Clean. */
export function goClean(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const s = out.join('/');
  if (rooted) return '/' + s;
  return s === '' ? '.' : s;
}

/** Go's path.Join: the non-empty elements joined with `/`, cleaned ('' when all are empty). */
export function goJoin(...elems: string[]): string {
  const parts = elems.filter((e) => e !== '');
  return parts.length === 0 ? '' : goClean(parts.join('/'));
}

/**
 * BuildKit's NormalizePath for Linux: an absolute `newPath` is returned AS WRITTEN (not cleaned);
 * a relative one is joined to `parent` (default `/`); '' means `parent`. With `keepSlash`, a
 * trailing `/` (or `/.`) of the original survives the join.
 */
export function normalizePath(parent: string, newPath: string, keepSlash: boolean): string {
  const orig = newPath;
  let dir = parent === '' ? '/' : parent;
  if (!dir.startsWith('/')) dir = goJoin('/', dir);
  let p = newPath === '' ? dir : newPath;
  if (!p.startsWith('/')) p = goJoin(dir, p);
  if (keepSlash) {
    if (orig.endsWith('/') && !p.endsWith('/')) p += '/';
    else if (orig.endsWith('/.')) {
      if (p !== '/') p += '/';
      p += '.';
    }
  }
  return p;
}

/** WORKDIR `wd` relative to the current working directory (`''` = none yet). */
export function normalizeWorkdir(current: string, wd: string): string {
  return normalizePath(current, wd, false);
}

/** A COPY/ADD destination against the working directory (pathRelativeToWorkingDir). */
export function pathRelativeToWorkingDir(dir: string, p: string): string {
  if (p.startsWith('/')) return normalizePath('/', p, true);
  return normalizePath(dir, p === '.' || p === '' ? './' : p, true);
}

/** A RUN --mount target: absolute as written, else joined to `/` + the working directory. */
export function mountTarget(dir: string, target: string): string {
  if (goClean(target).startsWith('/')) return target;
  return goJoin('/', dir, target);
}
