// Content addresses. Every digest is a branded string, parsed once at the edge.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { KilnError } from '../errors.js';

export type Digest = string & { readonly __brand: 'Digest' };

const DIGEST_RE = /^sha256:[a-f0-9]{64}$|^sha512:[a-f0-9]{128}$/;

export function isDigest(s: string): s is Digest {
  return DIGEST_RE.test(s);
}

/** Parses "sha256:<64 hex>" (or sha512); throws KilnError('DIGEST_INVALID') otherwise. */
export function parseDigest(s: string): Digest {
  if (!isDigest(s)) throw new KilnError('DIGEST_INVALID', `invalid digest: ${JSON.stringify(s)}`);
  return s;
}

export function digestAlgorithm(d: Digest): 'sha256' | 'sha512' {
  return d.startsWith('sha512:') ? 'sha512' : 'sha256';
}

/** The hex part of a digest. */
export function digestHex(d: Digest): string {
  return d.slice(d.indexOf(':') + 1);
}

export function sha256(data: string | Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}` as Digest;
}

/** Pass-through stream that hashes and counts what flows through it. */
export class HashingStream extends Transform {
  private readonly hash: Hash;
  private bytes = 0;
  private result: Digest | undefined;

  constructor(readonly algorithm: 'sha256' | 'sha512' = 'sha256') {
    super();
    this.hash = createHash(algorithm);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.result = `${this.algorithm}:${this.hash.digest('hex')}` as Digest;
    cb();
  }

  /** Valid once the stream has finished. */
  digest(): Digest {
    if (this.result === undefined) throw new KilnError('INTERNAL', 'HashingStream.digest() before end of stream');
    return this.result;
  }

  size(): number {
    return this.bytes;
  }
}
