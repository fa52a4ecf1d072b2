/**
 * The Rendezvous service over gRPC: rank 0's handlers around RendezvousCoordinator, and the calls the other
 * ranks make (join with retries until the startup deadline, named barriers).
 */
import * as grpc from '@grpc/grpc-js';
import { JclError } from '../util/errors.ts';
import {
  createAuthMetadata,
  expectedPeerName,
  rankCertificateProblem,
  unauthenticated,
  type CallAuthenticator,
  type TlsMaterial,
} from './auth.ts';
import type { GangRefusals } from './gang-refusals.ts';
import { fromGrpcError, toGrpcStatus } from './grpc-status.ts';
import type { RendezvousCoordinator } from './rendezvous-coordinator.ts';
import { probeTls } from './data-dial.ts';
import { tlsMisconfigured } from './tls-errors.ts';
import {
  RendezvousService,
  type BarrierRequest,
  type JoinRequest,
  type JoinResponse,
  type RefusalReport,
} from './wire.ts';

/**
 * Add the Rendezvous service, answering from `coordinator`, to rank 0's server (`tls`: its material);
 * the other ranks' refusal reports go to `gang`.
 */
export function addRendezvousService(
  server: grpc.Server,
  coordinator: RendezvousCoordinator,
  authenticate: CallAuthenticator,
  gang: GangRefusals,
  tls?: TlsMaterial,
): void {
  server.addService(RendezvousService, {
    join: (call: grpc.ServerUnaryCall<JoinRequest, JoinResponse>, cb: grpc.sendUnaryData<JoinResponse>) => {
      if (!authenticate(call, 'rendezvous Join')) return cb(unauthenticated());
      const req = call.request;
      // With JCL_TLS_PEER_NAME a certificate speaks only for the rank it was issued for.
      const identity = rankCertificateProblem(tls, call.getAuthContext().sslPeerCertificate, req.rank);
      if (identity) return cb({ code: grpc.status.PERMISSION_DENIED, details: identity });
      const host = req.host || hostOfPeer(call.getPeer());
      const dataAddress = req.dataPort > 0 ? `${host}:${req.dataPort}` : '';
      coordinator.join(req, `${host}:${req.port}`, dataAddress).then(
        (res) => cb(null, res),
        (err) => cb(toGrpcStatus(err)),
      );
    },
    barrier: (call: grpc.ServerUnaryCall<BarrierRequest, object>, cb: grpc.sendUnaryData<object>) => {
      if (!authenticate(call, 'rendezvous Barrier')) return cb(unauthenticated());
      // A call cancelled or past its deadline withdraws its entry.
      const cancelled = new AbortController();
      call.on('cancelled', () => cancelled.abort());
      coordinator.barrier(call.request.name, call.request.rank, cancelled.signal).then(
        () => cb(null, {}),
        (err) => cb(toGrpcStatus(err)),
      );
    },
    reportRefusals: (call: grpc.ServerUnaryCall<RefusalReport, object>, cb: grpc.sendUnaryData<object>) => {
      if (!authenticate(call, 'rendezvous ReportRefusals')) return cb(unauthenticated());
      const req = call.request;
      if (req.sessionId !== coordinator.sessionId) {
        return cb({
          code: grpc.status.FAILED_PRECONDITION,
          details: `session_id: expected the current session ${coordinator.sessionId}, got ${JSON.stringify(req.sessionId)}`,
        });
      }
      const rank = req.refusals?.rank ?? -1;
      const identity = rankCertificateProblem(tls, call.getAuthContext().sslPeerCertificate, rank);
      if (identity) return cb({ code: grpc.status.PERMISSION_DENIED, details: identity });
      try {
        gang.record(req.refusals);
        cb(null, {});
      } catch (err) {
        cb(toGrpcStatus(err));
      }
    },
  });
}

/**
 * The host part of a grpc-js peer string ("10.0.0.7:5123", "[::1]:5123", "::ffff:10.0.0.7:5123"), in a form
 * that can be dialled again.
 */
export function hostOfPeer(peer: string): string {
  let host = peer.replace(/^ipv[46]:/, '');
  const m = /^\[(.*)\]:\d+$/.exec(host) ?? /^(.*):\d+$/.exec(host);
  if (m) host = m[1];
  host = host.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
  return host.includes(':') ? `[${host}]` : host;
}

export interface RendezvousClient {
  join(req: JoinRequest): Promise<JoinResponse>;
  barrier(name: string, rank: number, timeoutMs: number): Promise<void>;
  /** Tell rank 0 this rank's refusal counts (RefusalReporter). */
  reportRefusals(report: RefusalReport, timeoutMs: number): Promise<void>;
  close(): void;
}

/**
 * Calls to the coordinator at `address`; `joinDeadlineMs` (absolute, Date.now() clock) bounds the join;
 * `tls`, the material the channel credentials were made from, lets a failed connection be diagnosed.
 * `channelOptions` should carry keepalive within the peer timeout (grpc-transport.ts keepaliveOptions):
 * a coordinator that dies or freezes after accepting the join is then noticed within that bound, and
 * reported as a lost rank 0 instead of being retried until the startup deadline.
 */
export function createRendezvousClient(
  address: string,
  token: string,
  creds: grpc.ChannelCredentials,
  channelOptions: grpc.ChannelOptions,
  joinDeadlineMs: number,
  tls?: TlsMaterial,
): RendezvousClient {
  const client = new grpc.Client(address, creds, channelOptions);
  const coordinator = `rank 0 (${address})`;
  // Whether the channel has been connected since `reached` was last reset: a call that fails UNAVAILABLE
  // after that lost an established connection (the coordinator died), not one that never came up.
  let reached = false;
  const watch = (): void => {
    const channel = client.getChannel();
    const state = channel.getConnectivityState(false);
    if (state === grpc.connectivityState.READY) reached = true;
    if (state !== grpc.connectivityState.SHUTDOWN) channel.watchConnectivityState(state, Infinity, watch);
  };
  watch();
  const unary = <Req, Res>(m: grpc.MethodDefinition<Req, Res>, req: Req, deadlineMs: number): Promise<Res> =>
    new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        req,
        createAuthMetadata(token),
        { deadline: deadlineMs },
        (err, res) => (err ? reject(err) : resolve(res as Res)),
      );
    });
  /** The permanent or named error for a failed call, or undefined when a join may be retried. */
  const classify = (e: grpc.ServiceError, what: string): JclError | undefined => {
    const tlsError = tlsMisconfigured(`the coordinator ${coordinator}`, e);
    if (tlsError) return tlsError;
    if (reached && (e.code === grpc.status.UNAVAILABLE || e.code === grpc.status.CANCELLED)) {
      return new JclError(
        'peer_lost',
        `lost ${coordinator} during ${what}: ${grpc.status[e.code]} ${e.details}`,
        { cause: e },
      );
    }
    return undefined;
  };
  // Rank 0 may not be listening yet (pods start in any order): retry "unavailable" until the deadline.
  const joinWithRetries = async (req: JoinRequest): Promise<JoinResponse> => {
    for (let attempt = 0; ; attempt++) {
      reached = client.getChannel().getConnectivityState(false) === grpc.connectivityState.READY;
      try {
        return await unary(RendezvousService.join, req, joinDeadlineMs);
      } catch (err) {
        const e = err as grpc.ServiceError;
        const named = classify(e, 'rendezvous');
        if (named) throw named;
        if (e.code === grpc.status.UNAVAILABLE && Date.now() + 250 < joinDeadlineMs) {
          await new Promise((r) => setTimeout(r, Math.min(2_000, 100 * 2 ** Math.min(attempt, 5))));
          continue;
        }
        if (e.code === grpc.status.DEADLINE_EXCEEDED || e.code === grpc.status.UNAVAILABLE) {
          throw new JclError(
            'deadline_exceeded',
            `rendezvous: coordinator ${address} did not form the gang in time (${e.details})`,
            { cause: e },
          );
        }
        throw fromGrpcError(e, `join ${address} as rank ${req.rank}`);
      }
    }
  };
  return {
    async join(req) {
      // grpc-js hides why a TLS connection fails ("Failed to connect", then the deadline): while the
      // join waits on a channel that is not up, ask the TLS layer directly, and fail at once if the
      // certificates are wrong.
      let joining = true;
      const tlsFailure = (async (): Promise<JclError | undefined> => {
        // Two probes in a row must agree, so a coordinator that restarts mid-handshake is not mistaken
        // for a certificate problem.
        let seen = 0;
        while (tls && joining) {
          if (client.getChannel().getConnectivityState(false) !== grpc.connectivityState.READY) {
            const err = await probeTls(address, tls, expectedPeerName(tls, 0), 2_000);
            const named = joining ? tlsMisconfigured(`the coordinator ${coordinator}`, err) : undefined;
            seen = named ? seen + 1 : 0;
            if (named && seen >= 2) return named;
          }
          await new Promise((r) => setTimeout(r, 250).unref());
        }
        return undefined;
      })();
      const failed = tlsFailure.then((err) => (err ? Promise.reject(err) : new Promise<never>(() => {})));
      try {
        return await Promise.race([joinWithRetries(req), failed]);
      } finally {
        joining = false;
      }
    },
    async barrier(name, rank, timeoutMs) {
      reached = client.getChannel().getConnectivityState(false) === grpc.connectivityState.READY;
      try {
        await unary(RendezvousService.barrier, { name, rank }, Date.now() + timeoutMs);
      } catch (err) {
        const e = err as grpc.ServiceError;
        throw classify(e, `barrier ${name}`) ?? fromGrpcError(e, `barrier ${name} at ${coordinator}`);
      }
    },
    async reportRefusals(report, timeoutMs) {
      try {
        await unary(RendezvousService.reportRefusals, report, Date.now() + timeoutMs);
      } catch (err) {
        throw fromGrpcError(err as grpc.ServiceError, `refusal report to ${coordinator}`);
      }
    },
    close: () => client.close(),
  };
}
