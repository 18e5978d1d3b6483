// Where the store lives: KILN_ROOT, else /var/lib/kiln for root, else the XDG data dir.
import { isAbsolute, join, resolve } from 'node:path';

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * The store root for an environment: `KILN_ROOT` when set; `/var/lib/kiln` for uid 0;
 * otherwise `$XDG_DATA_HOME/kiln`, or `$HOME/.local/share/kiln`.
 */
export function resolveStoreRoot(env: Env, uid: number = typeof process.getuid === 'function' ? process.getuid() : -1, homedir?: string): string {
  const explicit = env['KILN_ROOT'];
  if (explicit) return resolve(explicit);
  if (uid === 0) return '/var/lib/kiln';
  const xdg = env['XDG_DATA_HOME'];
  if (xdg && isAbsolute(xdg)) return join(xdg, 'kiln');
  const home = env['HOME'] || homedir || '/';
  return join(home, '.local', 'share', 'kiln');
}
