// USER string → uid/gid/supplementary gids/home, read from the rootfs's /etc/passwd and
// /etc/group, with Docker's rules (moby/sys/user GetExecUser):
//   ''            → root (0:0), home '/root' if passwd says so
//   'name'|'uid'  → the passwd entry; supplementary groups = groups listing the user by name
//   'u:group'     → group by name or gid; no supplementary groups
//   numeric uid without passwd entry → that uid, gid 0, home '/'; ids in USER are read like Go's
//   strconv.Atoi (runc's GetExecUser, BuildKit's fallback): `+5` is 5, a negative id is refused
//   unknown name (user or group) → USER_NOT_FOUND-style RUN_FAILED error
import { readFileSync } from 'node:fs';
import { KilnError } from '../errors.js';
import { resolveInRoot } from './rootpath.js';
import type { ProcessUser } from './spec.js';

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}
interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

function readRootFile(rootfs: string, p: string): string | undefined {
  try {
    return readFileSync(resolveInRoot(rootfs, p), 'utf8');
  } catch {
    return undefined;
  }
}

const NUMERIC = /^[0-9]+$/;
/** An id as USER may write it (strconv.Atoi: an optional sign). */
const ID = /^[+-]?[0-9]+$/;

export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 4 || !NUMERIC.test(f[2]!) || !NUMERIC.test(f[3]!)) continue;
    out.push({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '' });
  }
  return out;
}

export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 3 || !NUMERIC.test(f[2]!)) continue;
    out.push({ name: f[0]!, gid: Number(f[2]), members: (f[3] ?? '').split(',').map((m) => m.trim()).filter(Boolean) });
  }
  return out;
}

function checkId(n: number, what: string, spec: string): number {
  if (!Number.isSafeInteger(n) || n < 0 || n > 0xfffffffe) {
    throw new KilnError('RUN_FAILED', `invalid ${what} in USER ${spec}`, { hint: 'ids must be between 0 and 4294967294' });
  }
  return n;
}

/** Resolves a Dockerfile USER value against the rootfs (see the file comment for the rules). */
export function resolveUser(rootfs: string, userSpec: string): ProcessUser {
  const spec = userSpec.trim();
  const [userPart = '', groupPart] = spec === '' ? ['root'] : spec.split(/:(.*)/s);
  const passwd = parsePasswd(readRootFile(rootfs, '/etc/passwd') ?? '');
  const groups = parseGroup(readRootFile(rootfs, '/etc/group') ?? '');

  let uid: number;
  let gid = 0;
  let home = '/';
  let name: string | undefined;
  const byName = passwd.find((e) => e.name === userPart);
  const entry = byName ?? (ID.test(userPart) ? passwd.find((e) => e.uid === Number(userPart)) : undefined);
  if (entry) {
    uid = entry.uid;
    gid = entry.gid;
    home = entry.home || '/';
    name = entry.name;
  } else if (ID.test(userPart)) {
    uid = checkId(Number(userPart), 'uid', spec);
  } else if (userPart === 'root' && spec === '') {
    uid = 0;
    home = '/root';
  } else {
    throw new KilnError('RUN_FAILED', `unable to find user ${userPart}: no matching entries in passwd file`, {
      hint: `create the user first (e.g. RUN adduser ${userPart}) or use a numeric uid`,
    });
  }

  let additionalGids: number[] = [];
  if (groupPart !== undefined && groupPart !== '') {
    const g = groups.find((e) => e.name === groupPart) ?? (ID.test(groupPart) ? { gid: Number(groupPart) } : undefined);
    if (!g) {
      throw new KilnError('RUN_FAILED', `unable to find group ${groupPart}: no matching entries in group file`, {
        hint: `create the group first (e.g. RUN addgroup ${groupPart}) or use a numeric gid`,
      });
    }
    gid = checkId(g.gid, 'gid', spec);
  } else if (name !== undefined) {
    additionalGids = groups.filter((e) => e.members.includes(name!) && e.gid !== gid).map((e) => e.gid);
    additionalGids = [...new Set(additionalGids)];
  }
  return { uid, gid, additionalGids, home };
}
