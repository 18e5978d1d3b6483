// COPY/ADD execution (see types.ts for the contract). Placeholder until copy.ts lands.
import { KilnError } from '../../errors.js';
import type { CopyInputDigest, CopyRequest } from './types.js';
export type { CopyRequest, CopyInputDigest } from './types.js';

/** Copies the request's sources into destRoot with Docker's COPY/ADD semantics. */
export async function executeCopy(_req: CopyRequest, _signal?: AbortSignal): Promise<void> {
  throw new KilnError('NOT_IMPLEMENTED', 'COPY is not implemented yet');
}

/** Digest over what the COPY would read (paths, metadata, content), for the cache key. */
export async function hashCopyInputs(_req: Omit<CopyRequest, 'destRoot'>, _signal?: AbortSignal): Promise<CopyInputDigest> {
  throw new KilnError('NOT_IMPLEMENTED', 'COPY is not implemented yet');
}
