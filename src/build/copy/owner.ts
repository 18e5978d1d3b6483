// --chown: `user`, `uid`, `user:group`, `uid:gid`, ... resolved against the DESTINATION rootfs's
// /etc/passwd and /etc/group exactly like BuildKit (llb.WithUser + ops readUser):
//   - a numeric user (or `root`) is that uid, and — without a group — also that gid (`1000` → 1000:1000);
//   - a user name takes uid and primary gid from /etc/passwd;
//   - a group name takes its gid from /etc/group, a numeric group is that gid;
//   - a user name that is not found leaves both ids at 0, a group name that is not found leaves
//     the gid the user part gave (BuildKit does not fail here);
//   - an empty part is id 0: `app:` is app's uid with gid 0, not app's primary group (llb's
//     UserOpt marshals an empty name as ByID 0).
import { readFileSync, statSync } from 'node:fs';
import { parseGroup, parsePasswd, resolveInRoot } from '../../exec/index.js';

export interface Owner {
  readonly uid: number;
  readonly gid: number;
}

/** strconv.ParseInt(s, 10, 32) plus BuildKit's `root` → 0. */
function parseId(s: string): number | undefined {
  if (s === 'root') return 0;
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return n >= -0x80000000 && n <= 0x7fffffff ? n : undefined;
}

function readRegular(root: string, p: string): string | undefined {
  try {
    const host = resolveInRoot(root, p);
    if (!statSync(host).isFile()) return undefined;
    return readFileSync(host, 'utf8');
  } catch {
    return undefined;
  }
}

/** Whether `spec` names a user or a group (BuildKit must look it up in a rootfs), not only ids. */
export function namesUserOrGroup(spec: string): boolean {
  const colon = spec.indexOf(':');
  const parts = colon < 0 ? [spec] : [spec.slice(0, colon), spec.slice(colon + 1)];
  return parts.some((p) => p !== '' && parseId(p) === undefined);
}

/** The uid/gid that --chown=`spec` stands for in `destRoot`. */
export function resolveChown(destRoot: string, spec: string): Owner {
  const colon = spec.indexOf(':');
  const userPart = colon < 0 ? spec : spec.slice(0, colon);
  const groupPart = colon < 0 ? undefined : spec.slice(colon + 1);
  let uid = 0;
  let gid = 0;
  const uidNum = parseId(userPart);
  if (uidNum !== undefined) {
    uid = uidNum;
    gid = uidNum;
  } else {
    const entry = parsePasswd(readRegular(destRoot, '/etc/passwd') ?? '').find((e) => e.name === userPart);
    if (entry) {
      uid = entry.uid;
      gid = entry.gid;
    }
  }
  if (groupPart === '') gid = 0;
  else if (groupPart !== undefined) {
    const gidNum = parseId(groupPart);
    if (gidNum !== undefined) gid = gidNum;
    else {
      const g = parseGroup(readRegular(destRoot, '/etc/group') ?? '').find((e) => e.name === groupPart);
      if (g) gid = g.gid;
    }
  }
  return { uid, gid };
}
