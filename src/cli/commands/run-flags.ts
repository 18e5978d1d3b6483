// `kiln build` flags that shape the container of every RUN step, as docker build / buildx read
// them: --add-host (extra /etc/hosts lines), --shm-size (/dev/shm), --ulimit (rlimits) and
// --cgroup-parent. Bad values are USAGE errors (exit 125), before any work. Together they are the
// plan's RunContainerOptions, in every RUN step and so in their cache keys.
import { KilnError } from '../../errors.js';
import { ramInBytes } from '../../dockerfile/index.js';
import { cgroupsPathFor } from '../../exec/index.js';
import type { ExtraHost, RunContainerOptions, Ulimit } from '../../plan/index.js';

/** The RunContainerOptions the flags ask for (only those given). */
export function runContainerOptions(flags: { addHost: readonly string[]; shmSize?: string | undefined; ulimit: readonly string[]; cgroupParent?: string | undefined }): RunContainerOptions {
  const extraHosts = parseAddHosts(flags.addHost);
  const shmSizeBytes = parseShmSize(flags.shmSize);
  const ulimits = parseUlimits(flags.ulimit);
  if (flags.cgroupParent) cgroupsPathFor(flags.cgroupParent, 'check'); // the systemd form fails here
  return {
    ...(extraHosts.length > 0 ? { extraHosts } : {}),
    ...(shmSizeBytes !== undefined ? { shmSizeBytes } : {}),
    ...(ulimits.length > 0 ? { ulimits } : {}),
    ...(flags.cgroupParent ? { cgroupParent: flags.cgroupParent } : {}),
  };
}

/**
 * An IP address as Go's net.ParseIP reads it, written back as net.IP.String() does (what
 * BuildKit puts in /etc/hosts): IPv4 dotted (no leading zeros), IPv6 lower-case with the
 * longest run of two or more zero groups as `::`, an IPv4-mapped address as IPv4. No zones.
 * Undefined when it is not one.
 */
export function canonicalIp(s: string): string | undefined {
  const v4 = (t: string): number[] | undefined => {
    const parts = t.split('.');
    if (parts.length !== 4) return undefined;
    const n = parts.map((p) => (/^(0|[1-9][0-9]{0,2})$/.test(p) ? Number(p) : 256));
    return n.every((x) => x <= 255) ? n : undefined;
  };
  const four = v4(s);
  if (four) return four.join('.');
  if (!s.includes(':') || s.includes('%')) return undefined;
  // IPv6: groups before and after one optional `::`, the last may be dotted IPv4
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    const parts = h.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes('.')) {
        const b = v4(p);
        if (!b) return undefined;
        out.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) out.push(parseInt(p, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  if (halves.length === 2 ? head.length + tail.length > 7 : head.length !== 8) return undefined;
  if (halves.length === 2 && halves[0]!.includes('.')) return undefined; // dotted IPv4 only at the very end
  const all = [...head, ...Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  if (all.slice(0, 5).every((g) => g === 0) && all[5] === 0xffff) return [all[6]! >> 8, all[6]! & 255, all[7]! >> 8, all[7]! & 255].join('.');
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && all[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = all.map((g) => g.toString(16));
  return best < 0 ? hex.join(':') : `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** What `--add-host host-gateway` stands for: RUN steps share the host's network (exec/spec.ts), so the host is loopback. */
export const HOST_GATEWAY_IP = '127.0.0.1';

/**
 * `--add-host HOST:IP` (or `HOST=IP`; an IPv6 address may be in brackets), repeatable, as buildx
 * reads it: split at the first `=`, else the first `:`. `host-gateway` is the host itself.
 */
export function parseAddHosts(list: readonly string[]): ExtraHost[] {
  return list.map((h) => {
    let cut = h.indexOf('=');
    if (cut < 0) cut = h.indexOf(':');
    const host = cut < 0 ? '' : h.slice(0, cut);
    let ip = cut < 0 ? '' : h.slice(cut + 1);
    const bad = (): KilnError =>
      new KilnError('USAGE', `invalid --add-host ${JSON.stringify(h)}: expected HOST:IP`, { hint: 'e.g. --add-host db.local:10.0.0.5, --add-host v6.local=[2001:db8::1] or --add-host host.docker.internal:host-gateway' });
    if (host === '' || ip === '' || /\s/.test(host)) throw bad();
    if (ip === 'host-gateway') return { host, ip: HOST_GATEWAY_IP };
    if (ip.length > 2 && ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
    const canonical = canonicalIp(ip);
    if (canonical === undefined) throw bad();
    return { host, ip: canonical };
  });
}

/**
 * `--shm-size` as docker's units.RAMInBytes reads it: a number (decimals allowed) with an optional
 * binary suffix b, k, m, g, t, p (any case, `kb`/`kib` too). 0 means the default.
 */
export function parseShmSize(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const bytes = ramInBytes(value);
  if (bytes === undefined) {
    throw new KilnError('USAGE', `invalid --shm-size ${JSON.stringify(value)}: expected a size such as 128m or 1g`, { hint: 'suffixes k, m, g, t, p are powers of 1024; no suffix is bytes' });
  }
  if (!Number.isSafeInteger(bytes)) throw new KilnError('USAGE', `invalid --shm-size ${JSON.stringify(value)}: too large`);
  return bytes === 0 ? undefined : bytes;
}

/** The rlimit names docker's --ulimit takes (go-units), without RLIMIT_. */
export const ULIMIT_NAMES: readonly string[] = ['core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack'];

/**
 * `--ulimit NAME=SOFT[:HARD]` (repeatable; a name given twice: the last wins), as go-units'
 * ParseUlimit reads it: HARD defaults to SOFT, -1 is unlimited, SOFT may not exceed HARD.
 */
export function parseUlimits(list: readonly string[]): Ulimit[] {
  const byName = new Map<string, Ulimit>();
  for (const v of list) {
    const bad = (why: string): KilnError =>
      new KilnError('USAGE', `invalid --ulimit ${JSON.stringify(v)}: ${why}`, { hint: `write NAME=SOFT[:HARD] (-1 = unlimited), e.g. --ulimit nofile=1024:2048; names: ${ULIMIT_NAMES.join(', ')}` });
    const eq = v.indexOf('=');
    if (eq < 0) throw bad('expected NAME=SOFT[:HARD]');
    const name = v.slice(0, eq);
    if (!ULIMIT_NAMES.includes(name)) throw bad(`unknown limit ${JSON.stringify(name)}`);
    const parts = v.slice(eq + 1).split(':');
    if (parts.length > 2) throw bad('at most two values, SOFT[:HARD]');
    const nums = parts.map((p) => (/^-?\d+$/.test(p) ? Number(p) : NaN));
    if (nums.some((n) => !Number.isSafeInteger(n))) throw bad('the limits must be whole numbers');
    if (nums.some((n) => n < -1)) throw bad('a limit is a number of at least 0, or -1 for unlimited');
    const soft = nums[0]!;
    const hard = nums[1] ?? soft;
    if (hard !== -1 && (soft === -1 || soft > hard)) throw bad(`the soft limit must not exceed the hard limit: ${soft} > ${hard}`);
    byName.set(name, { name, soft, hard });
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}
