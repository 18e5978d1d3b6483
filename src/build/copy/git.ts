// Git sources with the system `git`, as BuildKit v0.13's git source (source/git/source.go) does:
// the ref is resolved with `git ls-remote` (a 40-hex commit needs no network), so a cache key
// can pin the commit. The checkout fetches into a temporary bare repository (`--depth=1` of the
// ref, verified against the pinned commit; a commit id: the branches' whole history, which any
// server serves), runs `git checkout <commit> -- .` into a separate work tree (no .git), moves a
// `#ref:subdir` up to the root, then `git submodule update --init --recursive --depth=1`. With
// keepGitDir (and no subdir) the tree gets a .git of its own: a detached HEAD at the commit,
// fetched with --depth=1, origin set to the remote (credentials masked). Files are written
// with umask 022 (BuildKit's runWithStandardUmask); git runs with BuildKit's environment (no
// system or user config, no prompts, LC_ALL=C, `protocol.file.allow=user`). Unlike BuildKit,
// which keeps one bare repository per remote (its index can carry an earlier ref's submodule
// into a later checkout: test/conformance/git-diff.test.ts), each source gets a fresh one.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join, posix } from 'node:path';
import { KilnError, isKilnError } from '../../errors.js';
import { resolveInRoot } from '../../exec/index.js';
import { lstatOrUndefined, removeTree, spawn } from '../../support/index.js';
import { isCommitSha, parseGitUrl, redactCredentials, type GitRef } from '../../dockerfile/index.js';

/** What running git needs besides the source (not part of any cache key). */
export interface GitAccess {
  /** Where temporary checkouts go (under the store's state dir); each is removed after use. */
  readonly workDir: string;
  /** The ssh-agent socket of `--ssh default`, for ssh remotes (BuildKit mounts that one). */
  readonly sshAuthSock?: string;
}

/** A Git source resolved to a commit. */
export interface PinnedGit {
  /** The URL given to git (without the fragment). */
  readonly remote: string;
  /** The ref as fetched: the fragment's ref, or the default branch's name. */
  readonly name: string;
  readonly commit: string;
  /** The `:subdir` of the fragment, normalised ('' = the whole repository). */
  readonly subdir: string;
  readonly ssh: boolean;
}

/** How git failed: its exit status and what it printed on stderr. */
class GitFailure extends Error {
  constructor(readonly stderr: string, status: string) {
    super(stderr.trim() || status);
  }
}

interface RunOptions {
  readonly gitDir?: string;
  readonly workTree?: string;
  readonly sshAuthSock?: string;
  readonly signal?: AbortSignal | undefined;
}

const PASS_ENV = ['GIT_SSL_CAINFO', 'GIT_SSL_CAPATH', 'http_proxy', 'https_proxy', 'no_proxy', 'all_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'ALL_PROXY'];

/** gitutil's environment, plus the CA and proxy settings of kiln's own (BuildKit's daemon has its own). */
function gitEnv(sshAuthSock: string | undefined): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    GIT_TERMINAL_PROMPT: '0',
    GIT_SSH_COMMAND: 'ssh -F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR',
    GIT_CONFIG_NOSYSTEM: '1',
    HOME: '/dev/null',
    LC_ALL: 'C',
  };
  for (const k of PASS_ENV) if (process.env[k] !== undefined) env[k] = process.env[k]!;
  if (sshAuthSock !== undefined) env['SSH_AUTH_SOCK'] = sshAuthSock;
  return env;
}

/** Runs git; returns its stdout. A shallow fetch the server refuses is retried without --depth (gitutil). */
async function git(args: readonly string[], opts: RunOptions): Promise<string> {
  let argv = [...args];
  for (;;) {
    const prefix = ['-c', 'protocol.file.allow=user', ...(opts.workTree ? ['--work-tree', opts.workTree] : []), ...(opts.gitDir ? ['--git-dir', opts.gitDir] : [])];
    const out: Buffer[] = [];
    // umask 022 for what git writes (BuildKit's runWithStandardUmask); the child takes it at spawn
    const old = process.umask(0o022);
    let running;
    try {
      running = spawn('git', [...prefix, ...argv], { env: gitEnv(opts.sshAuthSock), cwd: opts.workTree ?? opts.gitDir ?? '/', signal: opts.signal, onStdout: (b) => out.push(b), tailBytes: 8192, tailLines: 20 });
    } finally {
      process.umask(old);
    }
    let r;
    try {
      r = await running;
    } catch (e) {
      throw new KilnError('IO', `failed to run git: ${(e as Error).message}`, { cause: e, hint: 'kiln needs the git command for Git sources: install it (apt-get install git)' });
    }
    if (r.aborted || opts.signal?.aborted) throw new KilnError('ABORTED', 'operation aborted');
    if (r.code === 0) return Buffer.concat(out).toString('utf8');
    if (/--depth|shallow/.test(r.stderrTail) && argv.includes('--depth=1')) {
      argv = argv.filter((a) => a !== '--depth=1');
      continue;
    }
    throw new GitFailure(r.stderrTail, r.code !== null ? `exit status ${r.code}` : `signal ${r.signal ?? '?'}`);
  }
}

/** The last lines git printed, for a message (credentials in URLs masked). */
function said(e: unknown): string {
  if (!(e instanceof GitFailure)) return e instanceof Error ? e.message : String(e);
  const lines = e.message.split('\n').map((l) => l.trim()).filter((l) => l !== '').slice(-4);
  const text = lines.reduce((all, l) => (all === '' ? l : `${all}${all.endsWith(':') ? ' ' : '; '}${l}`), '');
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@']+@/gi, '$1xxxxx@');
}

function rethrow(e: unknown, wrap: () => KilnError): never {
  if (isKilnError(e)) throw e;
  throw wrap();
}

/** The URL git is given: the deprecated `github.com/…` form gets https:// (llb.Git). */
function gitRemote(ref: GitRef): string {
  return parseGitUrl(ref.remote) === 'unknown-protocol' ? `https://${ref.remote}` : ref.remote;
}

function unreachable(remote: string, e: unknown): KilnError {
  return new KilnError('IO', `failed to fetch remote ${redactCredentials(remote)}: ${said(e)}`, {
    cause: e,
    hint: 'check the repository URL and that this machine can reach it (`git ls-remote URL` shows what kiln sees)',
  });
}

/** A ref that git would read as an option, or that no ref name can be. */
function checkRefName(name: string, remote: string): void {
  // eslint-disable-next-line no-control-regex
  if (name.startsWith('-') || /[\x00-\x20\x7f~^:?*[\\]/.test(name)) {
    throw new KilnError('INVALID_FLAG', `invalid Git ref ${JSON.stringify(name)} in ${redactCredentials(remote)}`, {
      hint: 'after # give a branch, a tag or a full commit id, then optionally :subdir (e.g. #main:docs)',
    });
  }
}

/**
 * The commit a Git source stands for now (source/git CacheKey): a 40-hex ref is itself; else
 * `git ls-remote` of the ref (the default branch when none is given): `refs/<ref>` first, then
 * a branch, then a tag (peeled).
 */
export async function resolveGit(ref: GitRef, access: GitAccess | undefined, signal?: AbortSignal): Promise<PinnedGit> {
  const remote = gitRemote(ref);
  if (remote.startsWith('-')) throw new KilnError('INVALID_FLAG', `invalid Git URL ${JSON.stringify(remote)}`);
  const ssh = ref.scheme === 'ssh';
  const sub = normaliseSubdir(ref.subDir, remote);
  const pinned = (name: string, commit: string): PinnedGit => ({ remote, name, commit, subdir: sub, ssh });
  if (isCommitSha(ref.commit)) return pinned(ref.commit, ref.commit);
  const opts: RunOptions = { sshAuthSock: sshSocket(ssh, access, remote), signal };
  let name = ref.commit;
  if (name === '') {
    const head = await git(['ls-remote', '--symref', remote, 'HEAD'], opts).catch((e: unknown) => rethrow(e, () => unreachable(remote, e)));
    const m = /refs\/heads\/(\S+)/.exec(head);
    if (!m) throw new KilnError('CONTEXT_PATH_NOT_FOUND', `could not find default branch for repository: ${redactCredentials(remote)}`, { hint: 'name a branch, tag or commit after # in the URL' });
    name = m[1]!;
  }
  checkRefName(name, remote);
  const listed = await git(['ls-remote', remote, name, `${name}^{}`], opts).catch((e: unknown) => rethrow(e, () => unreachable(remote, e)));
  const bare = name.replace(/^refs\//, '');
  const want = { partial: `refs/${bare}`, head: `refs/heads/${name.replace(/^refs\/heads\//, '')}`, tag: `refs/tags/${name.replace(/^refs\/tags\//, '')}` };
  let sha = '';
  let headSha = '';
  let tagSha = '';
  for (const line of listed.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab < 0) continue;
    const [lineSha, lineRef] = [line.slice(0, tab), line.slice(tab + 1)];
    if (lineRef === want.head) headSha = lineSha;
    else if (lineRef === want.tag || lineRef === `${want.tag}^{}`) tagSha = lineSha;
    else if (lineRef === want.partial) sha = lineSha;
  }
  sha = sha || headSha || tagSha;
  if (sha === '') {
    throw new KilnError('CONTEXT_PATH_NOT_FOUND', `repository ${redactCredentials(remote)} does not contain ref ${name}`, {
      hint: 'check the branch or tag after # in the URL (`git ls-remote URL` lists them); a commit must be given as its full 40-digit id',
    });
  }
  if (!isCommitSha(sha)) throw new KilnError('IO', `invalid commit sha ${JSON.stringify(sha)} from ${redactCredentials(remote)}`);
  return pinned(name, sha);
}

/** `#ref:subdir` as BuildKit cleans it ('' for the root); a subdir may not leave the repository. */
function normaliseSubdir(subdir: string, remote: string): string {
  const rel = posix.normalize(subdir === '' ? '.' : subdir).replace(/^\/+/, '').replace(/\/+$/, '');
  if (rel === '..' || rel.startsWith('../')) {
    throw new KilnError('CONTEXT_PATH_OUTSIDE', `subdir ${JSON.stringify(subdir)} of ${redactCredentials(remote)} leaves the repository`, { hint: 'give a directory inside the repository after #ref:' });
  }
  return rel === '.' ? '' : rel;
}

/** BuildKit mounts the `default` ssh socket for ssh remotes: without `--ssh default` that is an error. */
function sshSocket(ssh: boolean, access: GitAccess | undefined, remote: string): string | undefined {
  if (!ssh) return undefined;
  if (access?.sshAuthSock === undefined) {
    throw new KilnError('SECRET_NOT_FOUND', `no SSH key "default" forwarded from the client: ${redactCredentials(remote)} is an ssh remote`, {
      hint: 'pass --ssh default (your ssh-agent, $SSH_AUTH_SOCK) or --ssh default=KEYFILE',
    });
  }
  return access.sshAuthSock;
}

/**
 * Checks `pin` out into a new directory under `work` (an empty directory the caller removes)
 * and returns it: the tree of the commit (or of its subdir), mode 0755 at the top, with
 * submodules, and a .git when `keepGitDir` and there is no subdir.
 */
export async function checkoutGit(pin: PinnedGit, work: string, keepGitDir: boolean, access: GitAccess | undefined, signal?: AbortSignal): Promise<string> {
  const base: RunOptions = { sshAuthSock: sshSocket(pin.ssh, access, pin.remote), signal };
  const shown = redactCredentials(pin.remote);
  const gitDir = join(work, 'repo.git');
  mkdirSync(gitDir);
  const bare = (args: readonly string[]): Promise<string> => git(args, { ...base, gitDir });
  await bare(['-c', 'init.defaultBranch=master', 'init', '--bare']);
  await bare(['remote', 'add', 'origin', pin.remote]);
  const fetchFailed = (e: unknown): never => rethrow(e, () => unreachable(pin.remote, e));
  if (isCommitSha(pin.name)) {
    await bare(['fetch', 'origin']).catch(fetchFailed);
    await bare(['cat-file', '-e', `${pin.commit}^{commit}`]).catch((e: unknown) =>
      rethrow(e, () => new KilnError('CONTEXT_PATH_NOT_FOUND', `commit ${pin.commit} not found in ${shown}`, {
        cause: e,
        hint: 'a commit is found when a branch of the repository contains it; check the id (`git log` in a clone)',
      })),
    );
  } else {
    await bare(['fetch', '--depth=1', '--no-tags', 'origin', '--force', `${pin.name}:tags/${pin.name}`]).catch(fetchFailed);
    const got = (await bare(['rev-parse', '--verify', '--quiet', `refs/tags/${pin.name}^{commit}`]).catch(() => '')).trim();
    if (got !== pin.commit) {
      // the ref moved since it was resolved for the cache key: fetch the pinned commit itself
      await bare(['fetch', '--depth=1', '--no-tags', 'origin', pin.commit]).catch((e: unknown) =>
        rethrow(e, () => new KilnError('IO', `${pin.name} of ${shown} moved during the build (from ${pin.commit} to ${got || 'nothing'})`, { cause: e, hint: 'build again' })),
      );
      await bare(['update-ref', `refs/tags/${pin.name}`, pin.commit]);
    }
  }
  await bare(['reflog', 'expire', '--all', '--expire=now']);

  const root = join(work, 'checkout');
  mkdirSync(root, 0o755);
  chmodSync(root, 0o755);
  let treeGitDir = gitDir;
  if (keepGitDir && pin.subdir === '') {
    treeGitDir = join(root, '.git');
    await keepDotGit(pin, gitDir, root, base);
  } else {
    const tree = pin.subdir === '' ? root : join(work, 'tree');
    if (tree !== root) mkdirSync(tree, 0o755);
    await git(['checkout', pin.commit, '--', '.'], { ...base, gitDir, workTree: tree }).catch((e: unknown) =>
      rethrow(e, () => new KilnError('IO', `failed to checkout remote ${shown}: ${said(e)}`, { cause: e })),
    );
    if (tree !== root) moveSubdir(tree, root, pin.subdir, shown);
  }
  await git(['submodule', 'update', '--init', '--recursive', '--depth=1'], { ...base, gitDir: treeGitDir, workTree: root }).catch((e: unknown) =>
    rethrow(e, () => new KilnError('IO', `failed to update submodules for ${shown}: ${said(e)}`, { cause: e, hint: 'check that the submodule URLs in .gitmodules are reachable from this machine' })),
  );
  return root;
}

/** The keepGitDir checkout: a repository of its own in `root`, fetched from the bare one. */
async function keepDotGit(pin: PinnedGit, gitDir: string, root: string, base: RunOptions): Promise<void> {
  const co = (args: readonly string[]): Promise<string> => git(args, { ...base, gitDir: join(root, '.git'), workTree: root });
  await co(['-c', 'init.defaultBranch=master', 'init']);
  await co(['remote', 'add', 'origin', `file://${gitDir}`]);
  const type = (await git(['cat-file', '-t', pin.name], { ...base, gitDir })).trim();
  let pullref = `${pin.name}:${pin.name}`;
  if (type === 'tag') pullref = `${pin.name}:refs/tags/${pin.name}`;
  else if (isCommitSha(pin.name)) {
    pullref = `refs/buildkit/${randomBytes(13).toString('hex')}`;
    await git(['update-ref', pullref, pin.name], { ...base, gitDir });
  }
  await co(['fetch', '-u', '--depth=1', 'origin', pullref]);
  await co(['checkout', 'FETCH_HEAD']);
  await co(['remote', 'set-url', 'origin', redactCredentials(pin.remote)]);
  await co(['reflog', 'expire', '--all', '--expire=now']);
  rmSync(join(root, '.git', 'FETCH_HEAD'), { force: true });
}

/** Moves the entries of `tree`'s `subdir` (symlinks resolved inside the tree) up into `root`. */
function moveSubdir(tree: string, root: string, subdir: string, shown: string): void {
  const dir = resolveInRoot(tree, subdir);
  if (lstatOrUndefined(dir)?.isDirectory() !== true) {
    throw new KilnError('CONTEXT_PATH_NOT_FOUND', `failed to open subdir ${subdir}: no such directory in ${shown}`, {
      hint: 'check the path after #ref: in the URL: a directory of the repository, relative to its root',
    });
  }
  for (const name of readdirSync(dir)) renameSync(join(dir, name), join(root, name));
  removeTree(tree);
}
