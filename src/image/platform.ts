// Platforms: parse "os/arch[/variant]", normalise like containerd, match, and the host's platform.
import { KilnError } from '../errors.js';
import type { Descriptor, Platform } from './types.js';

const KNOWN_OS = new Set([
  'aix', 'android', 'darwin', 'dragonfly', 'freebsd', 'illumos', 'ios', 'js', 'linux', 'netbsd', 'openbsd',
  'plan9', 'solaris', 'wasip1', 'windows',
]);
const COMPONENT_RE = /^[A-Za-z0-9_.-]+$/;

/** Normalises an architecture + variant the way containerd's platforms.Normalize does (arm64 → v8). */
export function normalizeArch(arch: string, variant?: string): { architecture: string; variant?: string } {
  const a = arch.toLowerCase();
  let v = variant?.toLowerCase() || undefined;
  switch (a) {
    case 'i386':
    case '386':
      return { architecture: '386', ...(v ? { variant: v } : {}) };
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      return { architecture: 'amd64', ...(v && v !== 'v1' ? { variant: v } : {}) };
    case 'aarch64':
    case 'arm64':
      if (v === undefined || v === '8' || v === 'v8.0') v = 'v8';
      return { architecture: 'arm64', variant: v };
    case 'armhf':
      return { architecture: 'arm', variant: 'v7' };
    case 'armel':
      return { architecture: 'arm', variant: 'v6' };
    case 'arm':
      if (v === undefined || v === '7') v = 'v7';
      else if (v === '5' || v === '6' || v === '8') v = `v${v}`;
      return { architecture: 'arm', variant: v };
    default:
      return { architecture: a, ...(v ? { variant: v } : {}) };
  }
}

export function normalizeOs(os: string): string {
  const o = os.toLowerCase();
  return o === 'macos' ? 'darwin' : o;
}

export function normalizePlatform(p: Platform): Platform {
  const { architecture, variant } = normalizeArch(p.architecture, p.variant);
  const out: { -readonly [K in keyof Platform]: Platform[K] } = { architecture, os: normalizeOs(p.os) };
  if (p['os.version']) out['os.version'] = p['os.version'];
  if (p['os.features']) out['os.features'] = p['os.features'];
  if (variant) out.variant = variant;
  return out;
}

/** The platform this process runs on, normalised (e.g. linux/arm64/v8, linux/amd64). */
export function hostPlatform(): Platform {
  const nodeOs = process.platform === 'win32' ? 'windows' : process.platform;
  const map: Record<string, string> = { x64: 'amd64', ia32: '386', ppc64: 'ppc64le' };
  const arch = map[process.arch] ?? process.arch;
  let variant: string | undefined;
  if (arch === 'arm') {
    const v = (process.config.variables as Record<string, unknown>)['arm_version'];
    variant = typeof v === 'string' || typeof v === 'number' ? `v${v}` : undefined;
  }
  return normalizePlatform({ os: nodeOs, architecture: arch, ...(variant ? { variant } : {}) });
}

/**
 * Parses "os[/arch[/variant]]" (as `--platform` and `FROM --platform=` take it) and normalises it.
 * A lone OS gets the host's architecture; a lone architecture gets the host's OS (containerd rules).
 */
export function parsePlatform(s: string, host: Platform = hostPlatform()): Platform {
  const parts = s.trim().split('/');
  const bad = (why: string): KilnError =>
    new KilnError('PLATFORM_INVALID', `invalid platform ${JSON.stringify(s)}: ${why}`, {
      hint: 'use os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8',
    });
  if (parts.length > 3) throw bad('too many "/" components');
  for (const p of parts) if (!COMPONENT_RE.test(p)) throw bad(p === '' ? 'empty component' : `unexpected characters in ${JSON.stringify(p)}`);
  const [a, b, c] = parts as [string, string?, string?];
  if (b === undefined) {
    const lower = a.toLowerCase();
    if (KNOWN_OS.has(normalizeOs(lower))) {
      const p = normalizeOs(lower) === host.os ? host : { os: normalizeOs(lower), architecture: host.architecture };
      return normalizePlatform({ ...p, os: normalizeOs(lower) });
    }
    return normalizePlatform({ os: host.os, architecture: lower });
  }
  if (!KNOWN_OS.has(normalizeOs(a))) throw bad(`unknown operating system ${JSON.stringify(a)}`);
  return normalizePlatform({ os: a, architecture: b, ...(c ? { variant: c } : {}) });
}

/** "linux/arm64/v8" */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, ...(p.variant ? [p.variant] : [])].join('/');
}

/** True when `have` satisfies `want` after normalising both (os, architecture, variant equal). */
export function matchPlatform(want: Platform, have: Platform): boolean {
  const w = normalizePlatform(want);
  const h = normalizePlatform(have);
  if (w.os !== h.os || w.architecture !== h.architecture) return false;
  if (w.variant !== undefined && w.variant !== h.variant) return false;
  if (w.variant === undefined && h.variant !== undefined) return false;
  if (w['os.version'] && h['os.version'] && w['os.version'] !== h['os.version']) return false;
  return true;
}

/** The first descriptor in an index whose platform matches; PLATFORM_NOT_FOUND lists what exists. */
export function selectPlatform(manifests: readonly Descriptor[], want: Platform): Descriptor {
  const found = manifests.find((d) => d.platform !== undefined && matchPlatform(want, d.platform));
  if (found) return found;
  const have = manifests.filter((d) => d.platform).map((d) => formatPlatform(d.platform!));
  throw new KilnError('PLATFORM_NOT_FOUND', `no image for platform ${formatPlatform(normalizePlatform(want))}`, {
    hint: have.length ? `available: ${have.join(', ')}` : 'the index lists no platforms',
  });
}
