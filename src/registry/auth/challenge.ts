// WWW-Authenticate parsing (RFC 7235 as registries use it): `Bearer realm="…",service="…",scope="…"`
// and `Basic realm="…"`, possibly several challenges in one header or several headers.

export interface Challenge {
  /** Lowercased scheme: `bearer`, `basic`, … */
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;

/** Parses one or more WWW-Authenticate header values into challenges, in order. */
export function parseWwwAuthenticate(values: string | readonly string[]): Challenge[] {
  const out: Challenge[] = [];
  for (const value of typeof values === 'string' ? [values] : values) {
    let s = value;
    let current: { scheme: string; params: Record<string, string> } | undefined;
    const skipWs = (): void => {
      s = s.replace(/^[\s]+/, '');
    };
    skipWs();
    while (s.length > 0) {
      const tok = TOKEN.exec(s);
      if (!tok) {
        s = s.slice(1); // junk: skip a character
        skipWs();
        continue;
      }
      const word = tok[0];
      let rest = s.slice(word.length).replace(/^\s+/, '');
      if (rest.startsWith('=') && current && !/^=\s*=/.test(rest) && !/^=+\s*(,|$)/.test(rest)) {
        // auth-param: name = token / quoted-string
        rest = rest.slice(1).replace(/^\s+/, '');
        let val: string;
        if (rest.startsWith('"')) {
          let i = 1;
          val = '';
          while (i < rest.length && rest[i] !== '"') {
            if (rest[i] === '\\' && i + 1 < rest.length) i++;
            val += rest[i];
            i++;
          }
          rest = rest.slice(i + 1);
        } else {
          const m = /^[^,\s]*/.exec(rest)!;
          val = m[0];
          rest = rest.slice(val.length);
        }
        current.params[word.toLowerCase()] = val;
        s = rest.replace(/^[\s,]+/, '');
        continue;
      }
      // A new challenge scheme (possibly followed by token68, which we keep as `token68`).
      current = { scheme: word.toLowerCase(), params: {} };
      out.push(current);
      s = rest;
      const t68 = /^([A-Za-z0-9\-._~+/]+=*)\s*(,|$)/.exec(s);
      if (t68 && !/^[A-Za-z0-9\-._~+/]+\s*=\s*[^=\s,]/.test(s)) {
        current.params['token68'] = t68[1]!;
        s = s.slice(t68[0].length);
      }
      s = s.replace(/^[\s,]+/, '');
    }
  }
  return out;
}

/** Merges `repository:x:pull` + `repository:x:push` into `repository:x:pull,push`; keeps order. */
export function mergeScopes(scopes: readonly string[]): string[] {
  const byRes = new Map<string, Set<string>>();
  for (const sc of scopes) {
    for (const one of sc.split(' ')) {
      if (!one) continue;
      const i = one.lastIndexOf(':');
      if (i === -1) {
        if (!byRes.has(one)) byRes.set(one, new Set());
        continue;
      }
      const res = one.slice(0, i);
      const set = byRes.get(res) ?? new Set<string>();
      for (const a of one.slice(i + 1).split(',')) if (a) set.add(a);
      byRes.set(res, set);
    }
  }
  return [...byRes].map(([res, acts]) => (acts.size ? `${res}:${[...acts].sort().join(',')}` : res));
}

/** `repository:<path>:<actions>` */
export function repositoryScope(path: string, actions: readonly string[]): string {
  return `repository:${path}:${actions.join(',')}`;
}
