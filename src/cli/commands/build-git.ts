// `kiln build <Git URL>`: a Git build context, as buildx (LoadInputs: a local directory of that
// name wins, then anything gitutil.ParseGitRef takes) and BuildKit's dockerui (DetectGitContext)
// read one: the repository at `#ref` (default branch when none), scoped to `:subdir`, checked out
// like ADD checks out a Git source (build/copy/git.ts), into a temporary directory under the
// store that is removed when kiln exits. Like an archive from stdin or a URL it is a filesystem
// state, not a local directory: no .dockerignore applies and COPY keeps its files' owners
// (BuildDeps.contextFetched). The Dockerfile is `-f`'s path inside it (default `Dockerfile`,
// or `dockerfile`); `-f -` and an absolute `-f` read a local one instead (buildx). `.git` is
// kept only with `--build-arg BUILDKIT_CONTEXT_KEEP_GIT_DIR=1` (dockerui keyContextKeepGitDirArg).
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, posix } from 'node:path';
import { KilnError } from '../../errors.js';
import { parseGitRef, redactCredentials } from '../../dockerfile/index.js';
import { checkoutGit, resolveGit } from '../../build/index.js';
import { resolveInRoot } from '../../exec/index.js';
import { parseBuildArgs, type SshSource } from './build-flags.js';
import { agentWithKeys } from './ssh-keys.js';
import { inFetchDir, type StdinContext } from './build-stdin.js';

/** Whether `path` names a Git context rather than a local directory (see the header). */
export function isGitContext(path: string): boolean {
  try {
    if (statSync(path).isDirectory()) return false;
  } catch {
    /* not a local directory */
  }
  return parseGitRef(path) !== undefined;
}

/** Go's strconv.ParseBool; anything else is false (dockerui ignores what it cannot parse). */
function goBool(v: string | undefined): boolean {
  return v !== undefined && ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v);
}

export interface GitContextOptions {
  /** `-f`. */
  readonly file?: string | undefined;
  /** `--build-arg`s as given (BUILDKIT_CONTEXT_KEEP_GIT_DIR). */
  readonly buildArgs: readonly string[];
  /** `--ssh`: `default` is the agent an ssh remote is fetched with (as BuildKit). */
  readonly ssh: ReadonlyMap<string, SshSource>;
  readonly signal?: AbortSignal;
}

/** Checks out the Git context `path` under `tmpParent` (see the header). */
export async function readGitContext(path: string, tmpParent: string, opts: GitContextOptions): Promise<StdinContext & { readonly dockerfilePath: string }> {
  const ref = parseGitRef(path)!;
  return inFetchDir(tmpParent, 'kiln-git-', async (work, remove) => {
    const ssh = opts.ssh.get('default');
    const sshAuthSock = ssh === undefined || ref.scheme !== 'ssh' ? undefined : 'socket' in ssh ? ssh.socket : await agentWithKeys(ssh.spec, ssh.keys, tmpParent);
    const access = { workDir: tmpParent, ...(sshAuthSock !== undefined ? { sshAuthSock } : {}) };
    const keep = goBool(parseBuildArgs(opts.buildArgs, process.env).get('BUILDKIT_CONTEXT_KEEP_GIT_DIR'));
    const pin = await resolveGit(ref, access, opts.signal);
    const dir = await checkoutGit(pin, work, keep, access, opts.signal);
    return { dir, dockerfilePath: dockerfileIn(dir, opts.file, `${redactCredentials(pin.remote)}#${pin.name}${pin.subdir !== '' ? `:${pin.subdir}` : ''}`), remove };
  });
}

/** Where the Dockerfile is: `-f -` and an absolute -f are local, anything else is inside the checkout. */
function dockerfileIn(dir: string, file: string | undefined, shown: string): string {
  if (file === '-' || (file !== undefined && isAbsolute(file))) return file;
  const name = file ?? 'Dockerfile';
  const candidates = [name, ...(posix.basename(name) === 'Dockerfile' ? [posix.join(posix.dirname(name), 'dockerfile')] : [])];
  for (const c of candidates) {
    const p = resolveInRoot(dir, c);
    if (existsSync(p)) return p;
  }
  throw new KilnError('CONTEXT_PATH_NOT_FOUND', `failed to read dockerfile: open ${name}: no such file or directory in ${shown}`, {
    hint: '-f names the Dockerfile inside the repository (relative to #ref:subdir); `-f -` or an absolute path reads a local one',
  });
}
