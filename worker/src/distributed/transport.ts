/**
 * The abstract point-to-point transport the collective algorithms run over. Two implementations: an
 * in-memory one for tests (memory-transport.ts) and gRPC (grpc-transport.ts).
 *
 * Semantics every implementation keeps:
 *  - frames from one peer arrive in the order that peer sent them (FIFO per directed pair);
 *  - `send` resolves once the transport no longer needs the caller's payload memory (it was copied or
 *    written), so the caller may then reuse it; sends to one peer are written in call order;
 *  - every wait is bounded: a peer that sends nothing (recv) or accepts nothing (send) for `peerTimeoutMs`
 *    is reported as JclError('peer_lost') naming the peer, and so is a peer whose connection broke.
 */
import type { JclError } from '../util/errors.ts';

/** One unit on the wire; see `Frame` in proto/jcl/v1/worker.proto. */
export interface Frame {
  opId: number;
  step: number;
  chunk: number;
  payload: Uint8Array;
}

export interface Transport {
  readonly rank: number;
  readonly worldSize: number;
  /** Queue `frame` for `peer`; see the ownership rule above. */
  send(peer: number, frame: Frame): Promise<void>;
  /**
   * The next frame from `peer`; rejects with peer_lost when the peer is gone or silent for the deadline.
   * The payload is valid until the next `recv` from the same peer (transports may recycle its memory).
   */
  recv(peer: number): Promise<Frame>;
  /** Tell every connected peer that this rank is failing (best effort), then fail local waits with `reason`. */
  abort(reason: JclError): void;
  /** Flush what was sent and release connections. */
  close(): Promise<void>;
}

/** Little-endian float32 bytes of `values`, as a view (no copy). */
export function bytesOf(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/**
 * Float32 values of a received payload: a view when the bytes are 4-byte aligned, otherwise a copy into
 * `scratch` (gRPC payloads start after a variable-length header, so alignment is not guaranteed).
 */
export function floatsOf(payload: Uint8Array, scratch?: { buf: Float32Array }): Float32Array {
  if (payload.byteLength % 4 !== 0) {
    throw new RangeError(`floatsOf: payload must be a multiple of 4 bytes, got ${payload.byteLength}`);
  }
  const n = payload.byteLength / 4;
  if (payload.byteOffset % 4 === 0) return new Float32Array(payload.buffer, payload.byteOffset, n);
  // Uint8Array's slice copies; a Buffer's would return a view.
  if (scratch === undefined) return new Float32Array(Uint8Array.prototype.slice.call(payload).buffer, 0, n);
  if (scratch.buf.length < n) scratch.buf = new Float32Array(n);
  const out = scratch.buf.subarray(0, n);
  bytesOf(out).set(payload);
  return out;
}
