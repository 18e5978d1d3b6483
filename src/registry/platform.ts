// Picking an index's manifest for a platform the way `docker pull --platform` does: exact match
// after containerd normalisation (image/), else a compatible variant (arm/v7 runs v6), skipping
// attestation manifests; PLATFORM_NOT_FOUND lists what the index offers.
import { KilnError } from '../errors.js';
import { type Descriptor, type Platform, formatPlatform, normalizePlatform } from '../image/index.js';

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
