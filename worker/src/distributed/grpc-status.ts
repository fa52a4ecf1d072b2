/**
 * Mapping between JclError codes and gRPC statuses, both directions, so a failure keeps its meaning (and
 * exit code) across the wire: a wrong token stays `unauthenticated` (exit 77), a deadline stays retryable.
 */
import * as grpc from '@grpc/grpc-js';
import { JclError, type JclErrorCode } from '../util/errors.ts';

const TO_GRPC: Partial<Record<JclErrorCode, grpc.status>> = {
  unauthenticated: grpc.status.UNAUTHENTICATED,
  deadline_exceeded: grpc.status.DEADLINE_EXCEEDED,
  invalid_config: grpc.status.INVALID_ARGUMENT,
  peer_lost: grpc.status.UNAVAILABLE,
};

/** The status object a handler fails a call with. */
export function toGrpcStatus(err: unknown): Partial<grpc.StatusObject> {
  const code =
    err instanceof JclError ? (TO_GRPC[err.code] ?? grpc.status.FAILED_PRECONDITION) : grpc.status.INTERNAL;
  return { code, details: err instanceof Error ? err.message : String(err) };
}

/** A JclError for a failed call to `what`. */
export function fromGrpcError(err: grpc.ServiceError, what: string): JclError {
  const detail = `${what}: ${grpc.status[err.code] ?? err.code}: ${err.details}`;
  switch (err.code) {
    case grpc.status.UNAUTHENTICATED:
    case grpc.status.PERMISSION_DENIED:
      return new JclError('unauthenticated', detail, { cause: err });
    case grpc.status.DEADLINE_EXCEEDED:
      return new JclError('deadline_exceeded', detail, { cause: err });
    case grpc.status.INVALID_ARGUMENT:
      return new JclError('invalid_config', detail, { cause: err });
    case grpc.status.UNAVAILABLE:
    case grpc.status.CANCELLED:
      return new JclError('peer_lost', detail, { cause: err });
    default:
      return new JclError('internal', detail, { cause: err });
  }
}
