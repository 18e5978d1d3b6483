// A streamed, deterministic tar of archive entries (uid/gid 0, mtime 0, fixed modes), using
// layer/'s header encoder. Bodies are opened one at a time and checked to be exactly `size` bytes.
import { KilnError } from '../errors.js';
import { TAR_END, encodeHeader, paddingFor } from '../layer/index.js';

export interface OutEntry {
  /** Path inside the archive; directories end in '/'. */
  readonly name: string;
  /** Body size (0 for directories). */
  readonly size: number;
  /** Small bodies in memory. */
  readonly data?: Buffer;
  /** Large bodies: a fresh stream per call (already verified by whoever opens it). */
  readonly open?: (signal?: AbortSignal) => Promise<NodeJS.ReadableStream>;
}

export function dirEntry(name: string): OutEntry {
  return { name: name.endsWith('/') ? name : `${name}/`, size: 0 };
}

export function bytesEntry(name: string, data: Buffer): OutEntry {
  return { name, size: data.length, data };
}

/** The tar bytes of `entries`, in the order given, ending with the two zero blocks. */
export async function* tarStream(entries: readonly OutEntry[], signal?: AbortSignal): AsyncGenerator<Buffer> {
  for (const e of entries) {
    signal?.throwIfAborted();
    const dir = e.name.endsWith('/');
    yield encodeHeader({ name: e.name, type: dir ? 'dir' : 'file', mode: dir ? 0o755 : 0o644, uid: 0, gid: 0, size: dir ? 0 : e.size, mtime: 0 });
    if (dir) continue;
    if (e.data) {
      if (e.data.length !== e.size) throw new KilnError('INTERNAL', `archive entry ${e.name}: ${e.data.length} bytes for a size of ${e.size}`);
      yield e.data;
    } else if (e.open) {
      let n = 0;
      const src = await e.open(signal);
      for await (const chunk of src as AsyncIterable<Buffer>) {
        const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
        n += b.length;
        if (n > e.size) throw new KilnError('DIGEST_MISMATCH', `archive entry ${e.name}: more than the expected ${e.size} bytes`);
        yield b;
      }
      if (n !== e.size) throw new KilnError('DIGEST_MISMATCH', `archive entry ${e.name}: got ${n} bytes, expected ${e.size}`);
    } else if (e.size !== 0) {
      throw new KilnError('INTERNAL', `archive entry ${e.name} has no body`);
    }
    const pad = paddingFor(e.size);
    if (pad) yield Buffer.alloc(pad);
  }
  yield TAR_END;
}
