// `--cache-to` / `--cache-from` specs, as buildx writes them: `type=registry,ref=R[,mode=min|max]`,
// `type=local,dest=DIR` / `type=local,src=DIR`, or a bare reference (= type=registry,ref=…).
// Unknown keys and values are usage errors; cache types kiln does not have (inline, gha, s3, …)
// fail loudly as NOT_IMPLEMENTED.
import { resolve } from 'node:path';
import { KilnError } from '../../errors.js';
import type { CacheLocation } from '../../build/index.js';

export interface CacheToSpec {
  readonly location: CacheLocation;
  readonly mode: 'min' | 'max';
  /** `ignore-error=true`: a failed export is a warning, not a failed build. */
  readonly ignoreError: boolean;
}

const LATER_TYPES = new Set(['inline', 'gha', 's3', 'azblob']);

function keyValues(flag: string, spec: string): Record<string, string> {
  const kv: Record<string, string> = {};
  if (!spec.includes('=')) return { type: 'registry', ref: spec.trim() };
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new KilnError('USAGE', `invalid ${flag} ${JSON.stringify(spec)}: expected key=value pairs separated by commas`, { hint: `e.g. ${flag} type=registry,ref=registry.example.com/app:buildcache` });
    const k = part.slice(0, eq).trim().toLowerCase();
    if (k in kv) throw new KilnError('USAGE', `invalid ${flag} ${JSON.stringify(spec)}: ${k}= given twice`);
    kv[k] = part.slice(eq + 1).trim();
  }
  return kv;
}

function checkKeys(flag: string, spec: string, kv: Record<string, string>, allowed: readonly string[]): void {
  for (const k of Object.keys(kv)) {
    if (!allowed.includes(k)) {
      throw new KilnError('USAGE', `invalid ${flag} ${JSON.stringify(spec)}: unknown key ${k}= for type=${kv['type']}`, { hint: `type=${kv['type']} takes ${allowed.filter((a) => a !== 'type').map((a) => `${a}=`).join(', ')}` });
    }
  }
}

function typeOf(flag: string, spec: string, kv: Record<string, string>): 'registry' | 'local' {
  const t = kv['type'] ?? 'registry';
  if (t === 'registry' || t === 'local') return t;
  if (LATER_TYPES.has(t)) {
    throw new KilnError('NOT_IMPLEMENTED', `${flag} type=${t} is not supported by this version of kiln`, { hint: 'use type=registry,ref=… (any OCI registry) or type=local,dest=…/src=… (a directory)' });
  }
  throw new KilnError('USAGE', `invalid ${flag} ${JSON.stringify(spec)}: unknown cache type ${JSON.stringify(t)}`, { hint: 'use type=registry or type=local' });
}

function need(flag: string, spec: string, kv: Record<string, string>, k: string): string {
  const v = kv[k];
  if (v === undefined || v === '') throw new KilnError('USAGE', `invalid ${flag} ${JSON.stringify(spec)}: type=${kv['type'] ?? 'registry'} needs ${k}=…`);
  return v;
}

export function parseCacheTo(spec: string): CacheToSpec {
  const flag = '--cache-to';
  const kv = keyValues(flag, spec);
  const type = typeOf(flag, spec, kv);
  checkKeys(flag, spec, kv, type === 'registry' ? ['type', 'ref', 'mode', 'ignore-error'] : ['type', 'dest', 'tag', 'mode', 'ignore-error']);
  const mode = kv['mode'] ?? 'min';
  if (mode !== 'min' && mode !== 'max') throw new KilnError('USAGE', `invalid ${flag} ${JSON.stringify(spec)}: mode must be min or max`);
  const ie = kv['ignore-error'] ?? 'false';
  if (ie !== 'true' && ie !== 'false') throw new KilnError('USAGE', `invalid ${flag} ${JSON.stringify(spec)}: ignore-error must be true or false`);
  const location: CacheLocation = type === 'registry' ? { type, ref: need(flag, spec, kv, 'ref') } : { type, dir: resolve(need(flag, spec, kv, 'dest')), tag: kv['tag'] || 'latest' };
  return { location, mode, ignoreError: ie === 'true' };
}

export function parseCacheFrom(spec: string): CacheLocation {
  const flag = '--cache-from';
  const kv = keyValues(flag, spec);
  const type = typeOf(flag, spec, kv);
  checkKeys(flag, spec, kv, type === 'registry' ? ['type', 'ref'] : ['type', 'src', 'tag']);
  return type === 'registry' ? { type, ref: need(flag, spec, kv, 'ref') } : { type, dir: resolve(need(flag, spec, kv, 'src')), tag: kv['tag'] || 'latest' };
}
