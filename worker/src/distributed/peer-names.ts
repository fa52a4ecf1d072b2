/**
 * How both transports name peers in errors and validate peer ranks, so that a lost peer reads the same
 * ("lost rank 1 (10.0.0.7:29500): ...") whichever data plane carried the collective.
 */
import { JclError } from '../util/errors.ts';

/** "rank r (host:port)". */
export function describePeer(peers: readonly string[], peer: number): string {
  return `rank ${peer} (${peers[peer]})`;
}

/** The peer_lost error (exit code 75: the gang restarts from the checkpoint). */
export function peerLostError(peers: readonly string[], peer: number, why: string): JclError {
  return new JclError('peer_lost', `lost ${describePeer(peers, peer)}: ${why}`);
}

/** Throws unless `peer` is another rank of the gang. */
export function checkPeerRank(rank: number, worldSize: number, peer: number): void {
  if (!Number.isInteger(peer) || peer < 0 || peer >= worldSize || peer === rank) {
    throw new RangeError(`rank ${rank}: peer must be another rank in [0, ${worldSize}), got ${peer}`);
  }
}
