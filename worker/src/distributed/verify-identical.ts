/**
 * Check that every rank holds the same bytes — used on the MoCo/JCL key queue, which all ranks must keep
 * identical because keys are all-gathered before enqueueing (shared/docs/JCL.md, "Distributed details").
 * Ranks exchange a SHA-256 digest, not the data; every rank reaches the same verdict.
 */
import { createHash } from 'node:crypto';
import { JclError } from '../util/errors.ts';
import type { Collective } from './collective.ts';

const DIGEST_BYTES = 32;

/** SHA-256 of the raw bytes of `data` (typed arrays hashed by memory, not by value). */
export function digestBytes(data: Uint8Array | Float32Array): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}

/**
 * All-gather a digest of `bytesOrHash` (or the 32-byte hash itself) and throw
 * JclError('queue_diverged') naming the ranks that differ from rank 0. Collective: all ranks must call it.
 */
export async function verifyIdenticalAcrossRanks(
  collective: Collective,
  bytesOrHash: Uint8Array | Float32Array,
  what = 'queue',
): Promise<void> {
  const hash =
    bytesOrHash instanceof Uint8Array && bytesOrHash.byteLength === DIGEST_BYTES
      ? bytesOrHash
      : digestBytes(bytesOrHash);
  // One byte per float: small integers survive float32 exactly, whatever the platform does with NaN bits.
  const all = await collective.allGather(Float32Array.from(hash));
  const differing: number[] = [];
  for (let r = 1; r < collective.worldSize; r++) {
    for (let i = 0; i < DIGEST_BYTES; i++) {
      if (all[r * DIGEST_BYTES + i] !== all[i]) {
        differing.push(r);
        break;
      }
    }
  }
  if (differing.length > 0) {
    throw new JclError(
      'queue_diverged',
      `${what} differs across ranks: rank(s) ${differing.join(', ')} disagree with rank 0 (SHA-256 of ${bytesOrHash.byteLength} B)`,
    );
  }
}
