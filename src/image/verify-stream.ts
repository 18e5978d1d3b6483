// A pass-through stream that fails at the end (or as soon as the size is exceeded) when the
// bytes are not the ones a digest names. Used on every read of content-addressed data.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { KilnError } from '../errors.js';
import { digestAlgorithm, type Digest } from './digest.js';

export class VerifyingStream extends Transform {
  private readonly hash: Hash;
  private bytes = 0;

  constructor(
    readonly expected: Digest,
    readonly expectedSize?: number,
    readonly what: string = expected,
  ) {
    super();
    this.hash = createHash(digestAlgorithm(expected));
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.expectedSize !== undefined && this.bytes > this.expectedSize) {
      cb(new KilnError('DIGEST_MISMATCH', `${this.what}: more than the expected ${this.expectedSize} bytes`));
      return;
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.expectedSize !== undefined && this.bytes !== this.expectedSize) {
      cb(new KilnError('DIGEST_MISMATCH', `${this.what}: got ${this.bytes} bytes, expected ${this.expectedSize}`));
      return;
    }
    const got = `${digestAlgorithm(this.expected)}:${this.hash.digest('hex')}`;
    if (got !== this.expected) {
      cb(new KilnError('DIGEST_MISMATCH', `${this.what}: content has digest ${got}, expected ${this.expected}`, {
        hint: 'the data is corrupt or was tampered with; fetch it again',
      }));
      return;
    }
    cb();
  }
}
