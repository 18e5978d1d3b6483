// Environment lists with BuildKit's two orderings: the build state's env (llb.EnvList: a later
// assignment of a key moves it to the end) and the image config's Env (addEnv: replaced in place).

/** An immutable env list like BuildKit's llb.EnvList: `set` of an existing key moves it last. */
export class EnvList {
  private constructor(private readonly entries: readonly (readonly [string, string])[]) {}

  static empty(): EnvList {
    return new EnvList([]);
  }

  static fromPairs(pairs: Iterable<readonly [string, string]>): EnvList {
    let e = EnvList.empty();
    for (const [k, v] of pairs) e = e.set(k, v);
    return e;
  }

  set(key: string, value: string): EnvList {
    return new EnvList([...this.entries.filter(([k]) => k !== key), [key, value]]);
  }

  get(key: string): string | undefined {
    for (const [k, v] of this.entries) if (k === key) return v;
    return undefined;
  }

  has(key: string): boolean {
    return this.entries.some(([k]) => k === key);
  }

  keys(): string[] {
    return this.entries.map(([k]) => k);
  }

  /** `KEY=VALUE` strings in order. */
  toArray(): string[] {
    return this.entries.map(([k, v]) => `${k}=${v}`);
  }

  /** A lookup for ShellLex. */
  readonly lookup = (name: string): string | undefined => this.get(name);
}

/** `KEY=VALUE` → [KEY, VALUE] (no `=`: empty value), like BuildKit's parseKeyValue. */
export function parseKeyValue(env: string): [string, string] {
  const i = env.indexOf('=');
  return i < 0 ? [env, ''] : [env.slice(0, i), env.slice(i + 1)];
}

/** The image config's Env after `ENV k=v`: replaces the first entry with key `k` in place, else appends. */
export function addEnv(env: readonly string[], key: string, value: string): string[] {
  const out = [...env];
  const i = out.findIndex((e) => parseKeyValue(e)[0] === key);
  if (i >= 0) out[i] = `${key}=${value}`;
  else out.push(`${key}=${value}`);
  return out;
}
