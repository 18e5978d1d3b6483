// ProcessSpec (what a RUN step wants) → OCI runtime-spec config.json (what runc reads).
// Mirrors what `docker build` gives a RUN container: the same namespaces, default mounts,
// capability set, masked and read-only /proc paths, a seccomp filter (seccomp.ts), and per-run
// /etc/hosts and /etc/resolv.conf bind-mounted from the bundle (never written into the rootfs).
import { posix } from 'node:path';
import { KilnError } from '../errors.js';
import { defaultSeccomp } from './seccomp.js';

/** A mount added on top of the defaults, e.g. for RUN --mount. Targets are absolute container paths. */
export type ExtraMount =
  | { readonly type: 'bind'; readonly source: string; readonly target: string; readonly readonly: boolean }
  | { readonly type: 'tmpfs'; readonly target: string; readonly sizeBytes?: number; readonly readonly?: boolean };

/**
 * Networking of a RUN container:
 * - 'host': the host's network namespace.
 * - 'none': a network namespace of its own with only `lo` (up).
 * - 'default': FOR NOW the same as 'host' (like `docker build --network host`), so that builds
 *   can reach package registries. A private network (slirp4netns/pasta or veth + NAT) is future work.
 */
export type NetworkMode = 'default' | 'none' | 'host';

export interface ProcessUser {
  readonly uid: number;
  readonly gid: number;
  readonly additionalGids?: readonly number[];
  /** Home directory, used for HOME when `env` has none. */
  readonly home?: string;
}

export interface ProcessSpec {
  /** argv; shell form is the caller's job (['/bin/sh', '-c', cmd]). */
  readonly args: readonly string[];
  /** KEY=value entries. PATH gets Docker's default when absent; HOME from user.home when absent. */
  readonly env: readonly string[];
  /** Absolute working directory inside the container (runc creates it when missing). */
  readonly cwd: string;
  readonly user: ProcessUser;
  readonly network: NetworkMode;
  /** Container hostname (also in /etc/hosts). Default DEFAULT_HOSTNAME, as BuildKit's. */
  readonly hostname?: string;
  /** Size of /dev/shm in bytes (`--shm-size`); default 64 MiB. */
  readonly shmSizeBytes?: number;
  /** Resource limits (`--ulimit`, names as go-units spells them: nofile, nproc, ...; -1 = unlimited); others are inherited. */
  readonly ulimits?: readonly { readonly name: string; readonly soft: number; readonly hard: number }[];
  /** `--cgroup-parent`: the container's cgroups go under it (cgroupsPathFor); default: runc's own place. */
  readonly cgroupParent?: string;
  /** Extra /etc/hosts entries (`--add-host`), written after the default lines. */
  readonly extraHosts?: readonly { readonly host: string; readonly ip: string }[];
  readonly mounts?: readonly ExtraMount[];
  /**
   * Set the no_new_privs bit. Default false, as BuildKit (oci.WithNewPrivileges) and docker
   * build: with it set, setuid programs (sudo, su, ping) stop working under USER.
   */
  readonly noNewPrivileges?: boolean;
  /** Confine the process with kiln's default seccomp filter (seccomp.ts). Default true, as BuildKit's RUN. */
  readonly seccomp?: boolean;
}

/** linux.seccomp of the OCI runtime spec (the part kiln writes). */
export interface OciSeccomp {
  defaultAction: 'SCMP_ACT_ALLOW' | 'SCMP_ACT_ERRNO';
  architectures: string[];
  syscalls: {
    names: string[];
    action: 'SCMP_ACT_ERRNO' | 'SCMP_ACT_ALLOW';
    errnoRet?: number;
    args?: { index: number; value: number; valueTwo: number; op: 'SCMP_CMP_MASKED_EQ' | 'SCMP_CMP_EQ' }[];
  }[];
}

export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

/** The subset of the OCI runtime-spec config that kiln writes. */
export interface OciConfig {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number; additionalGids?: number[]; umask?: number };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: { bounding: string[]; effective: string[]; permitted: string[]; inheritable: string[]; ambient: string[] };
    noNewPrivileges: boolean;
    /** -1 is written as RLIM_INFINITY (2^64-1, which a JS number cannot hold): see ociConfigJson. */
    rlimits?: { type: string; hard: number; soft: number }[];
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: OciMount[];
  linux: {
    namespaces: { type: string; path?: string }[];
    maskedPaths: string[];
    readonlyPaths: string[];
    resources?: { devices: { allow: boolean; access: string }[] };
    seccomp?: OciSeccomp;
    cgroupsPath?: string;
  };
}

/** Docker's default capability set for containers (and RUN steps). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Docker's masked paths (bind-mounted over with /dev/null or an empty read-only tmpfs). */
export const MASKED_PATHS: readonly string[] = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

export const READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** Paths of the per-run files the runtime generates in the bundle and bind-mounts read-only. */
export interface GeneratedFiles {
  readonly hosts: string;
  readonly resolvConf: string;
}

function defaultMounts(): OciMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
  ];
}

function extraMount(m: ExtraMount): OciMount {
  if (m.type === 'bind') {
    return { destination: m.target, type: 'bind', source: m.source, options: ['rbind', m.readonly ? 'ro' : 'rw', 'nosuid', 'nodev'] };
  }
  // BuildKit's tmpfs mount: nosuid, ro when read-only, a size only when above 0 (the kernel's
  // default mode 1777, so any USER can write to it, as to /tmp)
  const options = ['nosuid'];
  if (m.readonly) options.push('ro');
  if (m.sizeBytes !== undefined && m.sizeBytes > 0) options.push(`size=${m.sizeBytes}`);
  return { destination: m.target, type: 'tmpfs', source: 'tmpfs', options };
}

/**
 * A step's own mounts in BuildKit's order: sorted by target (llb's ExecOp marshals them so), so a
 * mount nested in another comes after it whatever the Dockerfile's order.
 */
export function sortedMounts(mounts: readonly ExtraMount[]): ExtraMount[] {
  return [...mounts].sort((a, b) => Buffer.compare(Buffer.from(a.target), Buffer.from(b.target)));
}

/** BuildKit's dedupMounts: of mounts with the same destination the last wins, in the first's place. */
function dedupMounts(mounts: readonly OciMount[]): OciMount[] {
  const out: OciMount[] = [];
  const at = new Map<string, number>();
  for (const m of mounts) {
    const i = at.get(m.destination);
    if (i === undefined) {
      at.set(m.destination, out.length);
      out.push(m);
    } else out[i] = m;
  }
  return out;
}

function hasVar(env: readonly string[], name: string): boolean {
  return env.some((e) => e.startsWith(`${name}=`));
}

/** Builds the config.json object for running `p` in the (absolute) `rootfs`. */
export function buildOciConfig(p: ProcessSpec, rootfs: string, files: GeneratedFiles): OciConfig {
  if (!rootfs.startsWith('/')) throw new KilnError('INTERNAL', `rootfs must be an absolute path: ${rootfs}`);
  if (p.args.length === 0) throw new KilnError('RUN_FAILED', 'RUN has no command to execute', { hint: 'give RUN a command, e.g. RUN echo hi' });
  const env = [...p.env];
  if (!hasVar(env, 'PATH')) env.push(`PATH=${DEFAULT_PATH}`);
  if (!hasVar(env, 'HOME')) env.push(`HOME=${p.user.home ?? '/'}`);

  // A non-root process keeps only the bounding set, as after execve() by a non-root user:
  // runc would otherwise hand it the effective set across setuid().
  const caps = [...DEFAULT_CAPABILITIES];
  const isRoot = p.user.uid === 0;
  const namespaces: { type: string }[] = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  if (p.network === 'none') namespaces.push({ type: 'network' }); // runc brings up lo in a new netns

  const mounts = defaultMounts();
  mounts.push(
    { destination: '/etc/hosts', type: 'bind', source: files.hosts, options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'] },
    { destination: '/etc/resolv.conf', type: 'bind', source: files.resolvConf, options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'] },
  );
  if (p.shmSizeBytes !== undefined) {
    // --shm-size: BuildKit mounts its own tmpfs over /dev/shm (nosuid, the kernel's mode 1777)
    const i = mounts.findIndex((m) => m.destination === '/dev/shm');
    mounts[i] = { destination: '/dev/shm', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', `size=${p.shmSizeBytes}`] };
  }
  for (const m of sortedMounts(p.mounts ?? [])) mounts.push(extraMount(m));

  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: {
        uid: p.user.uid,
        gid: p.user.gid,
        // Like containerd's WithAdditionalGIDs (what BuildKit uses): the primary gid comes first in the
        // supplementary groups, so `id` in a RUN shows groups=<gid>,... as under docker build.
        additionalGids: [...new Set([p.user.gid, ...(p.user.additionalGids ?? [])])],
        umask: 0o022,
      },
      args: [...p.args],
      env,
      cwd: p.cwd,
      capabilities: {
        bounding: caps,
        effective: isRoot ? caps : [],
        permitted: isRoot ? caps : [],
        inheritable: [],
        ambient: [],
      },
      noNewPrivileges: p.noNewPrivileges ?? false,
      // Only the rlimits asked for (--ulimit): the others are inherited from runc (= kiln), as in
      // BuildKit. Setting defaults above the hard limits would fail without CAP_SYS_RESOURCE, and
      // Docker's 1048576 nofile often is.
      ...(p.ulimits?.length ? { rlimits: p.ulimits.map((u) => ({ type: `RLIMIT_${u.name.toUpperCase()}`, hard: u.hard, soft: u.soft })) } : {}),
    },
    root: { path: rootfs, readonly: false },
    hostname: p.hostname ?? DEFAULT_HOSTNAME,
    mounts: dedupMounts(mounts),
    linux: {
      namespaces,
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      ...(p.seccomp === false ? {} : { seccomp: defaultSeccomp() }),
    },
  };
}

/** The hostname a RUN sees unless told otherwise: BuildKit's, which some builds print or test. */
export const DEFAULT_HOSTNAME = 'buildkitsandbox';

/** /etc/hosts for a run, as BuildKit writes it: localhost with the hostname, ::1, then `IP<tab>HOST` per extra host. */
export function hostsFile(hostname: string, extra: ProcessSpec['extraHosts'] = []): string {
  return [`127.0.0.1\tlocalhost ${hostname}`, '::1\tlocalhost ip6-localhost ip6-loopback', ...extra.map((h) => `${h.ip}\t${h.host}`), ''].join('\n');
}

/**
 * /etc/resolv.conf for a run, from the host's. With its own network namespace ('none') nothing
 * is reachable anyway; with the host's, loopback resolvers (systemd-resolved's 127.0.0.53) work.
 * Without any nameserver, Docker's fallback (public resolvers) is used.
 */
export function resolvConfFile(hostResolvConf: string | undefined): string {
  const lines = (hostResolvConf ?? '').split('\n').map((l) => l.trim());
  const kept = lines.filter((l) => /^(nameserver|search|domain|options)\s/.test(l));
  if (!kept.some((l) => l.startsWith('nameserver'))) kept.push('nameserver 8.8.8.8', 'nameserver 8.8.4.4');
  return kept.join('\n') + '\n';
}

/**
 * linux.cgroupsPath for container `id` under `--cgroup-parent`, where BuildKit puts its steps:
 * /PARENT/buildkit/ID (cleaned like Go's filepath.Join, so `..` cannot climb above the root).
 * The systemd form (`NAME.slice:`) needs runc's systemd driver, which kiln does not use.
 */
export function cgroupsPathFor(parent: string, id: string): string {
  if (parent.includes('.slice') && parent.endsWith(':')) {
    throw new KilnError('NOT_IMPLEMENTED', `--cgroup-parent ${parent}: a systemd slice is not supported by this version of kiln (it drives runc with cgroupfs)`, {
      hint: 'give a cgroupfs path instead, e.g. --cgroup-parent builds (RUN steps then go under /builds/buildkit/)',
    });
  }
  return posix.join('/', parent, 'buildkit', id);
}

/**
 * config.json's text: rlimits of -1 become RLIM_INFINITY, 18446744073709551615, written as
 * digits (a JS number cannot hold it, and runc reads a uint64).
 */
export function ociConfigJson(config: OciConfig): string {
  const INF = '"kiln:RLIM_INFINITY"';
  const text = JSON.stringify(config, (k, v: unknown) => ((k === 'hard' || k === 'soft') && v === -1 ? 'kiln:RLIM_INFINITY' : v), 2);
  return text.replaceAll(INF, '18446744073709551615');
}

/** Linux's limit on one argument or environment string passed to execve (MAX_ARG_STRLEN, 32 pages), NUL included. */
export const MAX_ARG_STRLEN = 32 * 4096;

/**
 * What to tell the user when the process could not be exec'd with "argument list too long"
 * (E2BIG), given the output tail of the failed run; undefined for any other failure. A shell-form
 * RUN passes its whole command line as one argument to `sh -c`, so a generated RUN line over
 * 128 KiB cannot start, whatever the shell.
 */
export function argListTooLongHint(p: Pick<ProcessSpec, 'args' | 'env'>, outputTail: string | undefined): string | undefined {
  if (outputTail === undefined || !/argument list too long/i.test(outputTail)) return undefined;
  const longest = [...p.args, ...p.env].reduce((m, s) => Math.max(m, Buffer.byteLength(s) + 1), 0);
  const total = [...p.args, ...p.env].reduce((m, s) => m + Buffer.byteLength(s) + 1, 0);
  const why =
    longest > MAX_ARG_STRLEN
      ? `Linux takes at most ${MAX_ARG_STRLEN / 1024} KiB for one argument or environment variable, and this step passes one of ${Math.ceil(longest / 1024)} KiB`
      : `Linux limits the arguments plus environment of a process (this step passes ${Math.ceil(total / 1024)} KiB)`;
  return `${why}: put the commands in a script (COPY it into the image and RUN it) instead of one long command line`;
}

/** How runtimeStartHint's hint starts: `kiln run` tells a command that could not start (126/127) by it. */
export const RUNTIME_START_HINT = 'the runtime could not start the process: ';

/**
 * When runc itself could not start the process (no such executable, the working directory is a
 * file, an id out of range), its own error line from the output tail, as advice: the exit code
 * alone (1) says nothing. undefined when the tail has no such line.
 */
export function runtimeStartHint(outputTail: string | undefined): string | undefined {
  if (outputTail === undefined) return undefined;
  let msg: string | undefined;
  for (const m of outputTail.matchAll(/level=error msg="((?:[^"\\]|\\.)*)"/g)) msg = m[1];
  if (msg === undefined) return undefined;
  const text = msg.replace(/\\(.)/g, '$1').replace(/^runc run failed: /, '').replace(/^unable to start container process: /, '');
  return `${RUNTIME_START_HINT}${text}`;
}
