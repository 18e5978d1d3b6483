// Git source references as BuildKit v0.13 reads them (util/gitutil: ParseGitRef, ParseURL;
// util/sshutil: the scp-like form): `https://host/repo.git#ref:subdir`, `git://host/repo`,
// `ssh://user@host/repo`, `user@host:repo`, and the deprecated `github.com/org/repo`. The
// fragment is `ref` (branch, tag or 40-hex commit) and an optional `:subdir`. Pure: no I/O.
// Here because the frontend decides what a source is (BuildKit keeps it in
// frontend/dockerfile/dfgitutil today); build/copy/git.ts fetches, cli/ detects Git contexts.

export type GitScheme = 'http' | 'https' | 'ssh' | 'git';

/** gitutil.GitURL: a parsed remote. */
export interface GitUrl {
  readonly scheme: GitScheme;
  /** Host with port, as written. */
  readonly host: string;
  /** Path, percent-decoded (scp-like: as written, no leading `/`). */
  readonly path: string;
  readonly user?: string;
  readonly fragment?: { readonly ref: string; readonly subdir: string };
  /** What git is given: the URL without its fragment. */
  readonly remote: string;
}

/** gitutil.GitRef. */
export interface GitRef {
  readonly remote: string;
  /** The repository's name: the last path element without `.git`. */
  readonly shortName: string;
  /** Branch, tag or commit; '' for the default branch. */
  readonly commit: string;
  readonly subDir: string;
  /** `github.com/org/repo` (no scheme): accepted only as a build context. */
  readonly indistinguishableFromLocal: boolean;
  /** git:// and http://: no encryption. */
  readonly unencryptedTCP: boolean;
  readonly scheme: GitScheme;
}

const SUPPORTED = new Set<string>(['http', 'https', 'ssh', 'git']);
const PROTO = /^[a-zA-Z0-9]+:\/\//;
const SCP = /^([a-zA-Z0-9-_]+)@([a-zA-Z0-9-.]+):(.*?)(?:#(.*))?$/;

/** Why a string is not a Git URL: no `proto://` and not scp-like, or a parse error. */
type Failure = 'unknown-protocol' | 'invalid';

function unhex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** Go's url.unescape for paths and fragments: undefined on a malformed `%` escape. */
function unescape(s: string): string | undefined {
  if (!s.includes('%')) return s;
  const bytes: number[] = [];
  const raw = Buffer.from(s, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== 0x25) {
      bytes.push(raw[i]!);
      continue;
    }
    const hi = unhex(raw[i + 1] ?? 0);
    const lo = unhex(raw[i + 2] ?? 0);
    if (hi < 0 || lo < 0) return undefined;
    bytes.push(hi * 16 + lo);
    i += 2;
  }
  return Buffer.from(bytes).toString('utf8');
}

const UNRESERVED = /[A-Za-z0-9\-_.~]/;
/** Characters Go keeps as they are in a path (url.shouldEscape, encodePath). */
const PATH_KEEP = /[A-Za-z0-9\-_.~$&+,/:;=@]/;
/** What Go's validEncoded accepts as an already escaped path. */
const PATH_VALID = /^(?:[A-Za-z0-9\-_.~!$&'()*+,;=:@[\]/]|%[0-9A-Fa-f]{2})*$/;

function escapePath(p: string): string {
  let out = '';
  for (const b of Buffer.from(p, 'utf8')) {
    const c = String.fromCharCode(b);
    out += b < 0x80 && PATH_KEEP.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Go's URL.EscapedPath: the path as written when that is a valid encoding, else re-escaped. */
function escapedPath(raw: string, decoded: string): string {
  return PATH_VALID.test(raw) && unescape(raw) === decoded ? raw : escapePath(decoded);
}

/** Go's host check (url.parseHost): a port must be digits; no characters a host cannot hold. */
function validHost(host: string): boolean {
  if (host.startsWith('[')) return /^\[[0-9A-Fa-f:.%A-Za-z]*\](:\d*)?$/.test(host);
  const colon = host.lastIndexOf(':');
  if (colon >= 0 && !/^:\d*$/.test(host.slice(colon))) return false;
  for (const ch of host) {
    if (ch.charCodeAt(0) >= 0x80) continue;
    if (!UNRESERVED.test(ch) && !"!$&'()*+,;=:[]<>\"%".includes(ch)) return false;
  }
  return !/%(?![0-9A-Fa-f]{2})/.test(host);
}

function splitFragment(fragment: string | undefined): GitUrl['fragment'] {
  if (fragment === undefined || fragment === '') return undefined;
  const colon = fragment.indexOf(':');
  return colon < 0 ? { ref: fragment, subdir: '' } : { ref: fragment.slice(0, colon), subdir: fragment.slice(colon + 1) };
}

/** Go's url.Parse for `scheme://authority/path?query#fragment`, reduced to what gitutil reads. */
function parseStandard(s: string, scheme: GitScheme): GitUrl | Failure {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(s)) return 'invalid';
  const hash = s.indexOf('#');
  const beforeFragment = hash < 0 ? s : s.slice(0, hash);
  const fragment = hash < 0 ? undefined : unescape(s.slice(hash + 1));
  if (fragment === undefined && hash >= 0) return 'invalid';
  const rest = beforeFragment.slice(beforeFragment.indexOf('://') + 3);
  const q = rest.indexOf('?');
  const noQuery = q < 0 ? rest : rest.slice(0, q);
  const query = q < 0 ? '' : rest.slice(q);
  const slash = noQuery.indexOf('/');
  const authority = slash < 0 ? noQuery : noQuery.slice(0, slash);
  const rawPath = slash < 0 ? '' : noQuery.slice(slash);
  const at = authority.lastIndexOf('@');
  const userinfo = at < 0 ? undefined : authority.slice(0, at);
  const host = authority.slice(at + 1);
  if (userinfo !== undefined && !/^[A-Za-z0-9\-_.~!$&'()*+,;=:%@]*$/.test(userinfo)) return 'invalid';
  if (!validHost(host)) return 'invalid';
  const path = unescape(rawPath);
  if (path === undefined) return 'invalid';
  const user = userinfo === undefined ? undefined : unescape(userinfo.split(':')[0]!);
  return {
    scheme,
    host,
    path,
    ...(user !== undefined ? { user } : {}),
    ...(splitFragment(fragment) ? { fragment: splitFragment(fragment)! } : {}),
    remote: `${scheme}://${userinfo !== undefined ? `${userinfo}@` : ''}${host}${escapedPath(rawPath, path)}${query}`,
  };
}

/** gitutil.ParseURL: a URL with a supported `proto://`, or the scp-like `user@host:path`. */
export function parseGitUrl(remote: string): GitUrl | Failure {
  const proto = PROTO.exec(remote)?.[0];
  if (proto !== undefined) {
    const scheme = proto.slice(0, -3).toLowerCase();
    if (!SUPPORTED.has(scheme) || !/^[a-zA-Z]/.test(scheme)) return 'invalid';
    return parseStandard(remote, scheme as GitScheme);
  }
  const m = SCP.exec(remote);
  if (m) {
    const [, user, host, path, fragment] = m;
    return { scheme: 'ssh', host: host!, path: path!, user: user!, ...(splitFragment(fragment) ? { fragment: splitFragment(fragment)! } : {}), remote: `${user}@${host}:${path}` };
  }
  return 'unknown-protocol';
}

/**
 * gitutil.ParseGitRef of BuildKit v0.13: undefined when `ref` is not a Git reference. An
 * http(s) URL is one only when its path ends in `.git`; a string without `proto://` that is
 * not scp-like is read as `https://` + ref (so `host/repo.git` is a Git URL).
 */
export function parseGitRef(ref: string): GitRef | undefined {
  if (ref.startsWith('./') || ref.startsWith('../')) return undefined;
  let url: GitUrl;
  let local = false;
  if (ref.startsWith('github.com/')) {
    // url.URL{Scheme: https, Host: github.com, Path: rest}.String(), with the scheme cut off
    local = true;
    url = { scheme: 'https', host: 'github.com', path: ref.slice('github.com/'.length), remote: `github.com/${escapePath(ref.slice('github.com/'.length))}` };
  } else {
    let parsed = parseGitUrl(ref);
    if (parsed === 'unknown-protocol') parsed = parseGitUrl(`https://${ref}`);
    if (typeof parsed === 'string') return undefined;
    if ((parsed.scheme === 'http' || parsed.scheme === 'https') && !parsed.path.endsWith('.git')) return undefined;
    url = parsed;
  }
  const segments = url.remote.split('/');
  return {
    remote: url.remote,
    shortName: segments[segments.length - 1]!.replace(/\.git$/, ''),
    commit: url.fragment?.ref ?? '',
    subDir: url.fragment?.subdir ?? '',
    indistinguishableFromLocal: local,
    unencryptedTCP: url.scheme === 'http' || url.scheme === 'git',
    scheme: url.scheme,
  };
}

/**
 * Whether an ADD/COPY source is a Git repository. BuildKit v0.13 takes every parseGitRef answer
 * but the deprecated `github.com/…` form, so a local path like `vendor/lib.git` became
 * `https://vendor/lib.git`; BuildKit 0.14 ("git: restrict definition of git ref", 8144ab88e)
 * made that a local path again, and so does kiln: a source is Git only with an explicit
 * transport (`proto://` or `user@host:`).
 */
export function gitSourceRef(src: string): GitRef | undefined {
  const ref = parseGitRef(src);
  if (!ref || ref.indistinguishableFromLocal) return undefined;
  return parseGitUrl(src) === 'unknown-protocol' ? undefined : ref;
}

/** A full commit id (source/git isCommitSHA: 40 lowercase hex digits). */
export function isCommitSha(s: string): boolean {
  return /^[0-9a-f]{40}$/.test(s);
}

/** urlutil.RedactCredentials: a URL's user name and password as `xxxxx` (for messages and .git/config). */
export function redactCredentials(remote: string): string {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)([^/?#]*)@(.*)$/s.exec(remote);
  if (!m) return remote;
  const [, scheme, userinfo, rest] = m;
  const colon = userinfo!.indexOf(':');
  const name = colon < 0 ? userinfo! : userinfo!.slice(0, colon);
  const masked = colon < 0 ? (name !== '' ? 'xxxxx' : '') : name !== '' ? 'xxxxx:xxxxx' : ':xxxxx';
  return `${scheme}${masked}@${rest}`;
}
