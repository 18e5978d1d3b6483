// The contract of COPY/ADD execution: copy selected files from a source tree (the build context,
// or a read-only view of a stage/image rootfs) into an active rootfs, with Docker's semantics.
import type { IgnoreMatcher } from '../../context/index.js';
import type { GitAccess } from './git.js';

export interface CopyRequest {
  /** Root of the source tree: the context dir, or a mounted stage/image rootfs. */
  readonly srcRoot: string;
  /**
   * 'context': sources are context-relative, filtered by `ignore`, and may not leave the context
   * (also through symlinks: CONTEXT_PATH_OUTSIDE). 'rootfs': sources are paths inside a root
   * filesystem; symlinks resolve inside srcRoot (like a chroot).
   */
  readonly srcKind: 'context' | 'rootfs';
  readonly ignore?: IgnoreMatcher;
  /** Source paths/patterns as written after expansion (Go filepath.Match wildcards). */
  readonly sources: readonly string[];
  /** Heredoc sources: files named `path` with content `data`. */
  readonly inline: readonly { readonly path: string; readonly data: string }[];
  /** Absolute destination inside destRoot; a trailing `/` means "a directory". */
  readonly dest: string;
  /** The active (writable) rootfs to copy into. */
  readonly destRoot: string;
  /** `--chown` as written (`user`, `uid`, `user:group`, ...); names resolve in destRoot's /etc/passwd and /etc/group. */
  readonly chown?: string;
  /** `--chmod`: octal (`755`) or symbolic (`u+x,g-w`). */
  readonly chmod?: string;
  readonly parents: boolean;
  readonly excludes: readonly string[];
  readonly link: boolean;
  /** ADD semantics (auto-extract local tar archives; URLs) — undefined for COPY. */
  readonly add?: { readonly unpack?: boolean; readonly checksum?: string; readonly keepGitDir?: boolean };
  /** Clamp for file mtimes of inline (heredoc) files and ADD URLs (seconds since epoch). */
  readonly sourceDateEpoch?: number;
  /** Where ADD's Git sources are checked out, and the ssh agent for ssh remotes (not part of the cache key). */
  readonly git?: GitAccess;
}

/** What a COPY reads, for the cache key: a digest over paths, metadata and content of every selected file. */
export interface CopyInputDigest {
  readonly digest: string;
  /** How many files were hashed (for `--explain`-style reports). */
  readonly files: number;
}
