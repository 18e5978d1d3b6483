// Environment lists with BuildKit's two orderings: the build state's env (llb.EnvList: a later
// assignment of a key moves it to the end) and the image config's Env (addEnv: replaced in place).

interface Entry {
  readonly value: string;
  /** Order of assignment: the list's order is ascending seq (a re-set key gets a new, last one). */
  readonly seq: number;
  /** `KEY=VALUE`, made once for every version that has this entry (RUN steps keep these arrays). */
  text?: string;
}

/** The one mutable map behind a family of EnvList versions, and its assignment counter. */
interface Store {
  readonly map: Map<string, Entry>;
  seq: number;
}

/**
 * An immutable env list like BuildKit's llb.EnvList: `set` of an existing key moves it last.
 *
 * Every version shares one map (a persistent map by "rerooting", as Baker's persistent arrays):
 * the version read last holds the map, every other version holds one assignment to undo on its
 * way there. So `set`, `get` and `has` cost O(1) on the newest version, and an older one costs
 * the number of versions between them, paid once when it is read. Copying the list on each `set`
 * (as before) made a Dockerfile with 10k ENV lines take seconds to plan and 50k minutes.
 */
export class EnvList {
  /** Set on the version that holds the map. */
  private store: Store | undefined;
  /** Otherwise: the version one step nearer to the holder, and what this version has for `key` there. */
  private next: EnvList | undefined;
  private key = '';
  private entry: Entry | undefined;
  /** toArray's result, computed once per version (a version never changes). */
  private ordered: string[] | undefined;

  private constructor(store: Store | undefined) {
    this.store = store;
  }

  static empty(): EnvList {
    return new EnvList({ map: new Map(), seq: 0 });
  }

  static fromPairs(pairs: Iterable<readonly [string, string]>): EnvList {
    let e = EnvList.empty();
    for (const [k, v] of pairs) e = e.set(k, v);
    return e;
  }

  /** Makes this version the holder of the map: undoes the assignments between it and the holder. */
  private reroot(): Store {
    if (this.store !== undefined) return this.store;
    const path: EnvList[] = [];
    let holder: EnvList = this;
    while (holder.store === undefined) {
      path.push(holder);
      holder = holder.next!;
    }
    const store = holder.store;
    for (let i = path.length - 1; i >= 0; i--) {
      const v = path[i]!;
      // `holder` gets the inverse of v's diff, and v takes the map
      const theirs = store.map.get(v.key);
      if (v.entry === undefined) store.map.delete(v.key);
      else store.map.set(v.key, v.entry);
      holder.store = undefined;
      holder.next = v;
      holder.key = v.key;
      holder.entry = theirs;
      v.store = store;
      v.next = undefined;
      v.entry = undefined;
      holder = v;
    }
    return store;
  }

  set(key: string, value: string): EnvList {
    const store = this.reroot();
    const old = store.map.get(key);
    store.map.set(key, { value, seq: ++store.seq });
    const made = new EnvList(store);
    this.store = undefined;
    this.next = made;
    this.key = key;
    this.entry = old;
    return made;
  }

  get(key: string): string | undefined {
    return this.reroot().map.get(key)?.value;
  }

  has(key: string): boolean {
    return this.reroot().map.has(key);
  }

  private sorted(): [string, Entry][] {
    return [...this.reroot().map].sort((a, b) => a[1].seq - b[1].seq);
  }

  keys(): string[] {
    return this.sorted().map(([k]) => k);
  }

  /** `KEY=VALUE` strings in order. */
  toArray(): string[] {
    this.ordered ??= this.sorted().map(([k, e]) => (e.text ??= `${k}=${e.value}`));
    return [...this.ordered];
  }

  /** A lookup for ShellLex. */
  readonly lookup = (name: string): string | undefined => this.get(name);
}

/** `KEY=VALUE` → [KEY, VALUE] (no `=`: empty value), like BuildKit's parseKeyValue. */
export function parseKeyValue(env: string): [string, string] {
  const i = env.indexOf('=');
  return i < 0 ? [env, ''] : [env.slice(0, i), env.slice(i + 1)];
}

/** Where each key first occurs in a config Env array that addEnv changes (and its length then). */
const firstIndex = new WeakMap<string[], { at: Map<string, number>; length: number }>();

/**
 * The image config's Env after `ENV k=v`, changed in place: replaces the first entry with key `k`,
 * else appends. Keeps an index per array, so n ENV lines cost O(n), not O(n²).
 */
export function addEnv(env: string[], key: string, value: string): void {
  let ix = firstIndex.get(env);
  if (ix === undefined || ix.length !== env.length) {
    const at = new Map<string, number>();
    env.forEach((e, i) => {
      const k = parseKeyValue(e)[0];
      if (!at.has(k)) at.set(k, i);
    });
    ix = { at, length: env.length };
    firstIndex.set(env, ix);
  }
  const i = ix.at.get(key);
  if (i !== undefined) {
    env[i] = `${key}=${value}`;
    return;
  }
  ix.at.set(key, env.length);
  env.push(`${key}=${value}`);
  ix.length = env.length;
}

/** Drops addEnv's index of `env` (a stage done planning is not changed again; a chain keeps every stage's Env). */
export function forgetEnvIndex(env: string[]): void {
  firstIndex.delete(env);
}
