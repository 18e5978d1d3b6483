// USER string → uid/gid/supplementary gids/HOME, read from the rootfs's /etc/passwd and
// /etc/group with the rules a RUN under BuildKit gets:
//   - BuildKit's GetUser: `uid:gid` with both parts numbers (or `root`) is taken as it is, with no
//     lookup; anything else goes to runc's user.GetExecUser:
//       - a numeric user (strconv.Atoi: `+5` is 5) is ALWAYS a uid, matched against the uid field
//         (never a name); a name is matched by name; the first matching line wins;
//       - a uid with no passwd line runs with gid 0; an unknown name is an error;
//       - an explicit group likewise (numeric = gid, else a name; unknown name = error), and
//         then no supplementary groups; without one, the groups that list the user's name;
//       - the default (empty) USER is uid 0, looked up the same way.
//   - HOME (when the image's env has none) is what runc's init sets: the home field of the first
//     passwd line with the process's uid, even when that field is empty, else `/`.
// The files are parsed as runc parses them: passwd lines are trimmed and never comments, missing
// fields are empty and unparsable numbers 0; group lines skip `#` comments, members split at
// commas as they are. A missing file has no entries. (BuildKit 0.13 itself fails a named or bare
// numeric USER when /etc/passwd or /etc/group is missing, "invalid argument", a bug kiln does not
// copy: runc's own lookup, with no file, is what kiln follows.)
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

/** Go's strconv.Atoi: an optional sign and decimal digits; undefined otherwise. */
function atoi(s: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** A number field as runc reads it: conversion errors are 0. */
const field = (s: string | undefined): number => atoi(s ?? '') ?? 0;

/** /etc/passwd as runc's ParsePasswdFilter reads it. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const f = line.split(':');
    out.push({ name: f[0]!, uid: field(f[2]), gid: field(f[3]), home: f[5] ?? '' });
  }
  return out;
}

/** /etc/group as runc's ParseGroupFilter reads it. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    const list = f[3] ?? '';
    out.push({ name: f[0]!, gid: field(f[2]), members: list === '' ? [] : list.split(',') });
  }
  return out;
}

/** BuildKit's parseUID: `root`, or strconv.ParseUint(s, 10, 32). */
function parseUid(s: string): number | undefined {
  if (s === 'root') return 0;
  if (!/^[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 0xffffffff ? n : undefined;
}

const MAX_ID = 2 ** 31 - 1;

function checkRange(n: number, spec: string): number {
  if (n < 0 || n > MAX_ID) throw new KilnError('RUN_FAILED', `USER ${spec}: uids and gids must be in range 0-${MAX_ID}`, { hint: 'use an id in that range' });
  return n;
}

/** runc's GetExecUser(spec) with zero defaults: uid, gid, supplementary gids. */
function execUser(spec: string, passwd: PasswdEntry[], groups: GroupEntry[]): { uid: number; gid: number; sgids: number[] } {
  const colon = spec.indexOf(':');
  const userArg = colon < 0 ? spec : spec.slice(0, colon);
  // runc splits the spec like a passwd line: a second colon ends the group
  const groupArg = colon < 0 ? '' : spec.slice(colon + 1).split(':')[0]!;
  const uidArg = atoi(userArg);
  const gidArg = atoi(groupArg);
  let uid = 0;
  let gid = 0;
  let sgids: number[] = [];
  const match = passwd.find((u) => (userArg === '' ? u.uid === 0 : uidArg !== undefined ? u.uid === uidArg : u.name === userArg));
  let matchedName = '';
  if (match) {
    matchedName = match.name;
    uid = match.uid;
    gid = match.gid;
  } else if (userArg !== '') {
    if (uidArg === undefined) {
      throw new KilnError('RUN_FAILED', `unable to find user ${userArg}: no matching entries in passwd file`, {
        hint: `create the user first (e.g. RUN adduser ${userArg}) or use a numeric uid`,
      });
    }
    uid = checkRange(uidArg, spec);
  }
  if (groupArg !== '') {
    const g = groups.find((e) => (gidArg !== undefined ? e.gid === gidArg : e.name === groupArg));
    if (g) gid = g.gid;
    else if (gidArg === undefined) {
      throw new KilnError('RUN_FAILED', `unable to find group ${groupArg}: no matching entries in group file`, {
        hint: `create the group first (e.g. RUN addgroup ${groupArg}) or use a numeric gid`,
      });
    } else gid = checkRange(gidArg, spec);
  } else if (matchedName !== '') {
    sgids = groups.filter((e) => e.members.includes(matchedName)).map((e) => e.gid);
  }
  return { uid, gid, sgids };
}

/** Resolves a Dockerfile USER value against the rootfs (see the file comment for the rules). */
export function resolveUser(rootfs: string, userSpec: string): ProcessUser {
  const spec = userSpec.trim();
  const passwd = parsePasswd(readRootFile(rootfs, '/etc/passwd') ?? '');
  let ids: { uid: number; gid: number; sgids: number[] };
  const colon = spec.indexOf(':');
  const fastUid = colon < 0 ? undefined : parseUid(spec.slice(0, colon));
  const fastGid = colon < 0 ? undefined : parseUid(spec.slice(colon + 1));
  if (fastUid !== undefined && fastGid !== undefined) ids = { uid: fastUid, gid: fastGid, sgids: [] };
  else ids = execUser(spec, passwd, parseGroup(readRootFile(rootfs, '/etc/group') ?? ''));
  const home = passwd.find((e) => e.uid === ids.uid)?.home ?? '/';
  return { uid: ids.uid, gid: ids.gid, additionalGids: [...new Set(ids.sgids.filter((g) => g !== ids.gid))], home };
}
