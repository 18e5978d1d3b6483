// Streaming tar writer for entries that do not come from a directory walk (generated files,
// re-packed layers, tests): headers are encoded like writeTree's, bodies are streamed through.
import { Readable } from 'node:stream';
import { KilnError } from '../errors.js';
import { TAR_END, encodeHeader, paddingFor, type TarHeader } from './tar-format.js';

export interface TarInput {
  header: TarHeader;
  /** Exactly header.size bytes for 'file' entries; ignored for others. */
  body?: Buffer | Iterable<Buffer> | AsyncIterable<Buffer>;
}

/**
 * A tar byte stream from a sequence of entries, in the order given, ending with the two zero
 * blocks. Throws KilnError('INTERNAL') when a body's length differs from its header's size.
 */
export function writeTar(entries: Iterable<TarInput> | AsyncIterable<TarInput>): Readable {
  async function* gen(): AsyncGenerator<Buffer> {
    for await (const { header, body } of entries as AsyncIterable<TarInput>) {
      const size = header.type === 'file' ? header.size : 0;
      yield encodeHeader({ ...header, size });
      let n = 0;
      if (size > 0 && body !== undefined) {
        const chunks = Buffer.isBuffer(body) ? [body] : body;
        for await (const c of chunks as AsyncIterable<Buffer>) {
          n += c.length;
          if (n > size) break;
          yield c;
        }
      }
      if (n !== size) {
        throw new KilnError('INTERNAL', `tar entry ${JSON.stringify(header.name)}: body has ${n > size ? 'more' : 'fewer'} bytes than its size ${size}`);
      }
      const pad = paddingFor(size);
      if (pad) yield Buffer.alloc(pad);
    }
    yield TAR_END;
  }
  return Readable.from(gen(), { objectMode: false });
}
