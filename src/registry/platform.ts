// Platforms (`os/arch[/variant]`), normalised like containerd (platforms.Normalize) and matched
// against an index's manifests the way `docker pull --platform` picks one.
import { KilnError } from '../errors.js';
import type { Descriptor, Platform } from '../image/index.js';

export function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase();
  let arch = p.architecture.toLowerCase();
  let variant = (p.variant ?? '').toLowerCase();
  switch (arch) {
    case 'i386':
      arch = '386';
      variant = '';
      break;
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      arch = 'amd64';
      if (variant === 'v1') variant = '';
      break;
    case 'aarch64':
    case 'arm64':
      arch = 'arm64';
      if (variant === '8' || variant === 'v8' || variant === 'v8.0') variant = '';
      else if (variant === '9' || variant === '9.0' || variant === 'v9.0') variant = 'v9';
      break;
    case 'armhf':
      arch = 'arm';
      variant = 'v7';
      break;
    case 'armel':
      arch = 'arm';
      variant = 'v6';
      break;
    case 'arm':
      if (variant === '' || variant === '7') variant = 'v7';
      else if (variant === '5' || variant === '6' || variant === '8') variant = `v${variant}`;
      break;
  }
  return { os: os === 'macos' ? 'darwin' : os, architecture: arch, ...(variant ? { variant } : {}) };
}

/** Parses `os/arch[/variant]` (or just `arch`, meaning linux). Throws USAGE on bad input. */
export function parsePlatform(s: string): Platform {
  const parts = s.trim().split('/');
  if (parts.some((x) => x === '') || parts.length > 3) {
    throw new KilnError('USAGE', `invalid platform ${JSON.stringify(s)}: expected os/arch[/variant], e.g. linux/arm64`);
  }
  if (parts.length === 1) return normalizePlatform({ os: 'linux', architecture: parts[0]! });
  return normalizePlatform({ os: parts[0]!, architecture: parts[1]!, ...(parts[2] ? { variant: parts[2] } : {}) });
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** The platform kiln runs on, as an image platform (linux/amd64, linux/arm64, linux/arm/v7, …). */
export function hostPlatform(): Platform {
  const archMap: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  const arch = archMap[process.arch] ?? process.arch;
  const armv = (process.config.variables as { arm_version?: string }).arm_version;
  return normalizePlatform({ os: 'linux', architecture: arch, ...(arch === 'arm' && armv ? { variant: `v${armv}` } : {}) });
}

/** Lower is better; undefined means the candidate cannot run on `want`. */
function rank(want: Platform, have: Platform): number | undefined {
  if (want.os !== have.os || want.architecture !== have.architecture) return undefined;
  const wv = want.variant ?? '';
  const hv = have.variant ?? '';
  if (wv === hv) return 0;
  if (wv === '') return 1; // no variant asked for: any variant will do, exact default preferred
  if (want.architecture === 'arm' && hv !== '') {
    // arm/v7 runs v6 and v5 binaries (containerd's arm compatibility), preferring the newest
    const w = Number(wv.slice(1));
    const h = Number(hv.slice(1));
    if (Number.isFinite(w) && Number.isFinite(h) && h < w) return 1 + (w - h);
  }
  if (hv === '' && want.architecture === 'arm64' && wv === 'v9') return undefined;
  return undefined;
}

function isAttestation(d: Descriptor): boolean {
  return d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' || (d.platform?.os === 'unknown' && d.platform.architecture === 'unknown');
}

/** Picks the manifest for `want` from an index; PLATFORM_NOT_FOUND lists what is available. */
export function selectManifest(manifests: readonly Descriptor[], want: Platform, name: string): Descriptor {
  const w = normalizePlatform(want);
  let best: { d: Descriptor; r: number } | undefined;
  for (const d of manifests) {
    if (!d.platform || isAttestation(d)) continue;
    const r = rank(w, normalizePlatform(d.platform));
    if (r !== undefined && (best === undefined || r < best.r)) best = { d, r };
  }
  if (best) return best.d;
  const available = manifests.filter((d) => d.platform && !isAttestation(d)).map((d) => formatPlatform(normalizePlatform(d.platform!)));
  throw new KilnError('PLATFORM_NOT_FOUND', `image ${name} has no manifest for platform ${formatPlatform(w)}; available: ${available.length ? [...new Set(available)].join(', ') : 'none'}`, {
    hint: available.length ? `pick one with --platform, e.g. --platform ${available[0]}` : undefined,
  });
}
