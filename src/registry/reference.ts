// Image references, normalised exactly like Docker (github.com/distribution/reference):
// `node` → docker.io/library/node:latest, `host:port/ns/name:tag@sha256:…`, lowercase paths,
// 255-character names, 128-character tags. Familiar formatting goes back (`node:20`).
import { KilnError } from '../errors.js';
import { isDigest, type Digest } from '../image/index.js';

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
export const NAME_TOTAL_LENGTH_MAX = 255;

// The grammar of distribution/reference (regexp.go), written out piece by piece.
const alphanumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const ipv6address = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const host = `(?:${domainName}|${ipv6address})`;
const domainAndPort = `${host}(?::[0-9]+)?`;
const tagPat = '[\\w][\\w.-]{0,127}';
const digestPat = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const namePat = `(?:${domainAndPort}/)?${remoteName}`;
const REFERENCE_RE = new RegExp(`^(${namePat})(?::(${tagPat}))?(?:@(${digestPat}))?$`);
const ANCHORED_IDENTIFIER_RE = /^[a-f0-9]{64}$/;
const ANCHORED_DOMAIN_RE = new RegExp(`^${domainAndPort}$`);
const ANCHORED_TAG_RE = new RegExp(`^${tagPat}$`);

/** A fully qualified reference: `domain/path[:tag][@digest]`. */
export interface Reference {
  /** Registry host, with port if any: `docker.io`, `localhost:5000`, `[::1]:5000`. */
  readonly domain: string;
  /** Repository path inside the registry: `library/node`. */
  readonly path: string;
  readonly tag?: string;
  readonly digest?: Digest;
}

function invalid(input: string, why: string): KilnError {
  return new KilnError('REFERENCE_INVALID', `invalid reference format: ${why}: ${JSON.stringify(input)}`, {
    hint: 'a reference looks like [registry[:port]/]name[:tag][@sha256:digest], with a lowercase name',
  });
}

/** Splits a normalised name into domain and remainder the way Docker does (splitDockerDomain). */
function splitDockerDomain(name: string): { domain: string; remainder: string } {
  const i = name.indexOf('/');
  let domain: string;
  let remainder: string;
  const first = i === -1 ? '' : name.slice(0, i);
  if (i === -1 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    remainder = name;
  } else {
    domain = first;
    remainder = name.slice(i + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_REPO_PREFIX + remainder;
  return { domain, remainder };
}

/**
 * Parses and normalises a reference like `docker pull` does (ParseNormalizedNamed), but does not
 * add a default tag; use `withDefaultTag` for that. Throws REFERENCE_INVALID with the reason.
 */
export function parseReference(input: string): Reference {
  if (input === '') throw invalid(input, 'repository name must have at least one component');
  if (ANCHORED_IDENTIFIER_RE.test(input)) {
    throw new KilnError('REFERENCE_INVALID', `invalid repository name (${input}), cannot specify 64-byte hexadecimal strings`, {
      hint: 'to refer to an image by digest, write name@sha256:<digest>',
    });
  }
  const { domain, remainder } = splitDockerDomain(input);
  const at = remainder.indexOf('@');
  const beforeDigest = at === -1 ? remainder : remainder.slice(0, at);
  const colon = beforeDigest.indexOf(':');
  const remote = colon === -1 ? beforeDigest : beforeDigest.slice(0, colon);
  if (remote.toLowerCase() !== remote) throw invalid(input, `repository name (${remote}) must be lowercase`);
  if (!isValidDomain(domain)) throw invalid(input, `invalid registry host ${JSON.stringify(domain)}`);
  const full = `${domain}/${remainder}`;
  const m = REFERENCE_RE.exec(full);
  if (!m) {
    if (REFERENCE_RE.test(full.toLowerCase())) throw invalid(input, 'repository name must be lowercase');
    if (/@/.test(remainder) && !new RegExp(`@${digestPat}$`).test(remainder)) throw invalid(input, 'invalid digest');
    throw invalid(input, 'not a valid image reference');
  }
  const name = m[1]!;
  if (name.length > NAME_TOTAL_LENGTH_MAX) {
    throw invalid(input, `repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  const tag = m[2];
  const digest = m[3];
  if (digest !== undefined && !isDigest(digest)) {
    throw invalid(input, `unsupported or malformed digest ${digest} (expected sha256:<64 lowercase hex> or sha512:<128 hex>)`);
  }
  const slash = name.indexOf('/');
  return {
    domain: name.slice(0, slash),
    path: name.slice(slash + 1),
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest: digest as Digest } : {}),
  };
}

/** `latest` when the reference has neither tag nor digest (TagNameOnly). */
export function withDefaultTag(ref: Reference): Reference {
  return ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: DEFAULT_TAG } : ref;
}

/** Parses and adds `:latest` if there is neither tag nor digest: what `kiln pull node` resolves. */
export function parseNormalizedReference(input: string): Reference {
  return withDefaultTag(parseReference(input));
}

/** `domain/path` */
export function repositoryName(ref: Pick<Reference, 'domain' | 'path'>): string {
  return `${ref.domain}/${ref.path}`;
}

/** The fully qualified string: `docker.io/library/node:20@sha256:…`. */
export function formatReference(ref: Reference): string {
  return `${repositoryName(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** The short name Docker shows: `node`, `user/app`, `localhost:5000/app`. */
export function familiarName(ref: Pick<Reference, 'domain' | 'path'>): string {
  if (ref.domain !== DEFAULT_DOMAIN) return repositoryName(ref);
  if (ref.path.startsWith(OFFICIAL_REPO_PREFIX) && !ref.path.slice(OFFICIAL_REPO_PREFIX.length).includes('/')) {
    return ref.path.slice(OFFICIAL_REPO_PREFIX.length);
  }
  return ref.path;
}

/** The familiar string: `node:20`, `user/app@sha256:…` (FamiliarString). */
export function familiarString(ref: Reference): string {
  return `${familiarName(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** The tag or digest to ask the registry for (digest wins, as Docker does). */
export function referenceObject(ref: Reference): string {
  return ref.digest ?? ref.tag ?? DEFAULT_TAG;
}

export function isValidTag(tag: string): boolean {
  return ANCHORED_TAG_RE.test(tag);
}

export function isValidDomain(domain: string): boolean {
  return ANCHORED_DOMAIN_RE.test(domain);
}
