// The signature of what a COPY from the context reads: cheaper to make than its digest (hash.ts)
// and equal whenever the digest must be. It covers the digest's header line (every flag), each
// input's match, and per selected entry its kind, path and stat identity (support/stat.ts: mode,
// owner, nlink, size, rdev, device, inode, mtime and ctime in ns). Under the stat cache's own
// assumption (a file whose stat is unchanged has unchanged content), equal signatures mean equal
// digests. So a COPY whose signature matches the one stored with its last digest takes that
// digest without a per-file look-up (stat-cache.ts, tree records). A 20k-file COPY spent ~100 ms
// building per-file stat strings and hash lines only to find nothing had changed.
import { createHash, type Hash } from 'node:crypto';
import { copyIdentity, IDENTITY_WORDS, RACY_NS } from '../../support/index.js';
import { digestHeader } from './hash.js';
import type { Input } from './inputs.js';
import type { CopyRequest } from './types.js';

const BATCH = 4096;

export interface InputsSignature {
  readonly sig: string;
  /**
   * Some entry changed within the last second: a later write in the same timestamp tick could
   * leave its stat as it is, so this signature must not be stored for later builds.
   */
  readonly racy: boolean;
}

/** Entries' identities in batches: one hash update per BATCH entries. */
class Words {
  private readonly buf = new BigInt64Array(BATCH * IDENTITY_WORDS);
  private readonly buf32 = new Int32Array(this.buf.buffer);
  private n = 0;
  constructor(private readonly h: Hash) {}
  add(st: Parameters<typeof copyIdentity>[0]): void {
    copyIdentity(st, this.buf, this.buf32, this.n * IDENTITY_WORDS);
    if (++this.n === BATCH) this.flush();
  }
  flush(): void {
    if (this.n > 0) this.h.update(new Uint8Array(this.buf.buffer, 0, this.n * IDENTITY_WORDS * 8));
    this.n = 0;
  }
}

/**
 * The signature of `inputs` (selected for `req`), or undefined when they include a URL or a Git
 * source (what the server has is not on disk). `nowNs`: the wall clock, for `racy`.
 */
export function inputsSignature(req: Omit<CopyRequest, 'destRoot'>, inputs: readonly Input[], nowNs: bigint): InputsSignature | undefined {
  // names and identities go to separate hashes: fixed-size records need no separators, and
  // a path cannot contain NUL
  const names = createHash('sha256');
  const ids = createHash('sha256');
  const words = new Words(ids);
  let text = digestHeader(req) + '\n';
  let newest = 0n;
  for (const input of inputs) {
    if (input.kind === 'url' || input.kind === 'git') return undefined;
    if (input.kind === 'inline') {
      text += `inline\0${input.path}\0${createHash('sha256').update(input.data).digest('hex')}\n`;
      continue;
    }
    text += `match\0${input.match.source}\0${input.match.name}\0${input.match.rel}\n`;
    for (const e of input.entries) {
      text += `${e.kind === 'open' ? '(' : e.kind === 'close' ? ')' : '-'}${e.parentOnly ? 'p' : '-'}${e.rel}\0`;
      if (text.length >= 65536) {
        names.update(text);
        text = '';
      }
      if (e.kind === 'close') continue;
      words.add(e.st);
      const m = e.st.mtimeNs;
      const c = e.st.ctimeNs;
      if (m > newest) newest = m;
      if (c > newest) newest = c;
    }
  }
  names.update(text);
  words.flush();
  return { sig: `${names.digest('hex')}${ids.digest('hex')}`, racy: nowNs - newest <= RACY_NS };
}
