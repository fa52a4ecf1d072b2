/**
 * Rank 0's Status endpoint (proto Status service) and the client the operator calls. Both sides use the
 * job token; the server is read-only, so a status poll can never disturb training.
 */
import * as grpc from '@grpc/grpc-js';
import {
  createAuthMetadata,
  createCallAuthenticator,
  createChannelCredentials,
  createServerCredentials,
  tlsChannelOptions,
  unauthenticated,
  type TlsMaterial,
} from './auth.ts';
import { GrpcListener } from './grpc-listener.ts';
import { fromGrpcError } from './grpc-status.ts';
import { silentLogger } from './log.ts';
import { RefusalLog } from './refusal-log.ts';
import type { StatusReporter } from './status-reporter.ts';
import {
  MAX_CONTROL_MESSAGE_BYTES,
  MAX_STATUS_RESPONSE_BYTES,
  StatusService,
  type StatusResponse,
} from './wire.ts';

/** Status connections open at once: the operator's poller (and a person with the token) need few. */
const STATUS_MAX_CONNECTIONS = 16;

export interface StatusServerOptions {
  reporter: StatusReporter;
  token: string;
  /** 0 picks a free port. */
  port: number;
  bindHost?: string;
  tls?: TlsMaterial;
  /** Where wrong tokens and excess connections are counted (the worker's one RefusalLog). */
  refusals?: RefusalLog;
}

export interface StatusServer {
  port: number;
  close(): Promise<void>;
}

/** Serve `reporter` snapshots on `bindHost:port`. */
export async function startStatusServer(o: StatusServerOptions): Promise<StatusServer> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_CONTROL_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_STATUS_RESPONSE_BYTES,
  });
  const refusals = o.refusals ?? new RefusalLog(silentLogger);
  const authenticate = createCallAuthenticator(o.token, refusals);
  server.addService(StatusService, {
    getStatus: (
      call: grpc.ServerUnaryCall<object, StatusResponse>,
      cb: grpc.sendUnaryData<StatusResponse>,
    ) => {
      if (!authenticate(call, 'status GetStatus')) return cb(unauthenticated());
      cb(null, o.reporter.snapshot());
    },
  });
  const listener = await GrpcListener.start(
    server,
    o.bindHost ?? '0.0.0.0',
    o.port,
    createServerCredentials(o.tls),
    { maxConnections: STATUS_MAX_CONNECTIONS, refusals, plane: 'status' },
  );
  return { port: listener.port, close: () => listener.close(2_000) };
}

/**
 * Fetch rank 0's status; used by the operator. Throws JclError (`unauthenticated` for a wrong token,
 * `deadline_exceeded` after `timeoutMs`, `peer_lost` when unreachable).
 */
export async function fetchStatus(
  address: string,
  token: string,
  timeoutMs: number,
  tls?: TlsMaterial,
): Promise<StatusResponse> {
  const client = new grpc.Client(address, createChannelCredentials(tls), {
    'grpc.max_receive_message_length': MAX_STATUS_RESPONSE_BYTES,
    ...tlsChannelOptions(tls),
  });
  const m = StatusService.getStatus;
  try {
    return await new Promise<StatusResponse>((resolve, reject) => {
      client.makeUnaryRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        {},
        createAuthMetadata(token),
        { deadline: Date.now() + timeoutMs },
        (err, res) =>
          err ? reject(fromGrpcError(err, `status from ${address}`)) : resolve(res as StatusResponse),
      );
    });
  } finally {
    client.close();
  }
}
