// The seccomp filter every RUN (and `kiln run`) gets, as BuildKit confines RUN with Docker's
// default profile. Docker's profile is an allow-list of ~350 syscalls plus per-capability
// additions. kiln's is a deny-list, written for the capability set kiln grants (Docker's default
// set: no CAP_SYS_ADMIN, CAP_SYS_MODULE, CAP_SYS_TIME, CAP_SYS_PTRACE, ...). It refuses with EPERM
// what Docker's profile refuses to such a container: kernel modules and kexec, reboot, clock
// setting, swap, accounting and quotas, every mount API, namespace creation (unshare, setns,
// clone with CLONE_NEW* flags), the kernel keyring, bpf and perf events, userfaultfd,
// file-handle syscalls (the "shocker" escape), I/O ports, NUMA policy and old ABI leftovers.
// clone3 gets ENOSYS, as under Docker, so that libc falls back to clone, whose flags a filter
// can see. Everything else passes. Syscall names libseccomp does not know on an architecture are
// skipped by runc.
import type { OciSeccomp } from './spec.js';

const EPERM = 1;
const ENOSYS = 38;

const DENIED: readonly string[] = [
  // kernel modules, kexec, reboot
  'init_module', 'finit_module', 'delete_module', 'create_module', 'query_module', 'get_kernel_syms',
  'kexec_load', 'kexec_file_load', 'reboot',
  // clocks (CAP_SYS_TIME). adjtimex and clock_adjtime stay allowed, as in Docker's profile: the
  // kernel itself refuses their setting modes without CAP_SYS_TIME, and reading the clock's state
  // (ntp/chrony status, busybox adjtimex) must work
  'settimeofday', 'stime', 'clock_settime', 'clock_settime64',
  // swap, accounting, quotas
  'swapon', 'swapoff', 'acct', 'quotactl', 'quotactl_fd',
  // mounting, old and new API (CAP_SYS_ADMIN)
  'mount', 'umount', 'umount2', 'pivot_root', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'open_tree', 'move_mount', 'mount_setattr',
  // namespaces
  'unshare', 'setns',
  // kernel keyring
  'add_key', 'request_key', 'keyctl',
  // tracing and introspection beyond ptrace (CAP_SYS_ADMIN / CAP_SYS_PTRACE / CAP_SYSLOG)
  'bpf', 'perf_event_open', 'lookup_dcookie', 'userfaultfd', 'kcmp', 'process_vm_readv', 'process_vm_writev', 'syslog',
  // file handles (CAP_DAC_READ_SEARCH)
  'open_by_handle_at', 'name_to_handle_at',
  // I/O ports, NUMA policy (CAP_SYS_RAWIO / CAP_SYS_NICE)
  'ioperm', 'iopl', 'mbind', 'get_mempolicy', 'set_mempolicy', 'move_pages',
  // obsolete or host-wide
  'nfsservctl', 'sysfs', '_sysctl', 'uselib', 'ustat', 'vm86', 'vm86old', 'vhangup',
];

/** The namespace flags of clone(2): a process may not make new namespaces (CAP_SYS_ADMIN, or a user namespace). */
const CLONE_NAMESPACE_FLAGS: readonly number[] = [
  0x00020000, // CLONE_NEWNS
  0x02000000, // CLONE_NEWCGROUP
  0x04000000, // CLONE_NEWUTS
  0x08000000, // CLONE_NEWIPC
  0x10000000, // CLONE_NEWUSER
  0x20000000, // CLONE_NEWPID
  0x40000000, // CLONE_NEWNET
];

const ARCHES: Readonly<Record<string, readonly string[]>> = {
  x64: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  arm64: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
};

/** The filter for a process on this machine's architecture (`arch` as Node names it). */
export function defaultSeccomp(arch: string = process.arch): OciSeccomp {
  return {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: [...(ARCHES[arch] ?? [])],
    syscalls: [
      { names: [...DENIED], action: 'SCMP_ACT_ERRNO', errnoRet: EPERM },
      { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS },
      // one rule per flag: libseccomp ANDs the conditions of one rule, and has no "masked not equal"
      ...CLONE_NAMESPACE_FLAGS.map((flag) => ({
        names: ['clone'],
        action: 'SCMP_ACT_ERRNO' as const,
        errnoRet: EPERM,
        args: [{ index: 0, value: flag, valueTwo: flag, op: 'SCMP_CMP_MASKED_EQ' as const }],
      })),
    ],
  };
}
