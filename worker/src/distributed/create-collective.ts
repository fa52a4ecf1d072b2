/**
 * Start-up of the distributed runtime (the I/O edge): read the token and TLS files, start this worker's
 * gRPC server, rendezvous with rank 0, connect the ring and pass the start barrier. Returns the ring
 * collective, or LocalCollective when the world is one process.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { describeError, JclError } from '../util/errors.ts';
import {
  createChannelCredentials,
  createServerCredentials,
  createCallAuthenticator,
  tlsChannelOptions,
  type TlsMaterial,
} from './auth.ts';
import { LocalCollective, type Collective } from './collective.ts';
import { parseDistEnv, type DataPlane, type DistConfig, type Env } from './dist-config.ts';
import { GrpcTransport, keepaliveOptions, workerServerOptions } from './grpc-transport.ts';
import type { DistLogger } from './log.ts';
import { RendezvousCoordinator } from './rendezvous-coordinator.ts';
import { addRendezvousService, createRendezvousClient, type RendezvousClient } from './rendezvous-service.ts';
import { RingCollective } from './ring-collective.ts';
import { ringNeighbours } from './ring-schedule.ts';
import { StatusReporter } from './status-reporter.ts';
import { startStatusServer, type StatusServer } from './status-server.ts';
import { GrpcListener } from './grpc-listener.ts';
import { DataListener } from './data-listener.ts';
import { HELLO_TIMEOUT_MS, MAX_UNAUTHENTICATED } from './connection-guard.ts';
import { GangRefusals, toWireCounts } from './gang-refusals.ts';
import { RefusalLog } from './refusal-log.ts';
import { RefusalReporter } from './refusal-reporter.ts';
import { TcpTransport } from './tcp-transport.ts';
import { MAX_CONTROL_MESSAGE_BYTES, type JoinResponse } from './wire.ts';

/** A collective plus what the worker needs around it. */
export type DistributedCollective = Collective & {
  /** host:port of every rank (one entry when local). */
  readonly peers: readonly string[];
  /** Training progress; served to the operator by rank 0, kept locally elsewhere. */
  readonly status: StatusReporter;
  /** Port of rank 0's status endpoint (undefined elsewhere or when not served). */
  readonly statusPort?: number;
  /** How frames travel between the ranks ('local' for one process). */
  readonly dataPlane: DataPlane | 'local';
  /**
   * Leave because this worker is failing outside a collective (bad data, NaN loss, ...): peers waiting on
   * it are told at once (they fail with the same error code) instead of after their peer timeout, and no
   * closing barrier is attempted. Use instead of close() on the failure path.
   */
  abort(reason: unknown): Promise<void>;
};

/** Secrets loaded from files or env. */
export interface DistSecrets {
  token: string;
  tls?: TlsMaterial;
}

/** Read the JCL_* environment, rendezvous, and return the collective for this worker. */
export async function createCollectiveFromEnv(env: Env, log: DistLogger): Promise<DistributedCollective> {
  const cfg = parseDistEnv(env);
  return startDistributed(cfg, await loadSecrets(cfg), log);
}

/** Read the token file and TLS PEM files named by `cfg`. */
export async function loadSecrets(cfg: DistConfig): Promise<DistSecrets> {
  const read = async (path: string, what: string): Promise<Buffer> => {
    try {
      return await readFile(path);
    } catch (err) {
      throw new JclError('invalid_config', `${what}: cannot read ${path}`, { cause: err });
    }
  };
  const token =
    'file' in cfg.token
      ? (await read(cfg.token.file, 'JCL_TOKEN_FILE')).toString('utf8').trim()
      : cfg.token.value;
  if (cfg.worldSize > 1 && token.length === 0) throw new JclError('invalid_config', 'job token: empty');
  if (cfg.tls === undefined) return { token };
  const [cert, key, ca] = await Promise.all([
    read(cfg.tls.certFile, 'JCL_TLS_CERT'),
    read(cfg.tls.keyFile, 'JCL_TLS_KEY'),
    read(cfg.tls.caFile, 'JCL_TLS_CA'),
  ]);
  try {
    createSecureContext({ cert, key, ca });
  } catch (err) {
    throw new JclError(
      'invalid_config',
      `JCL_TLS_CERT, JCL_TLS_KEY, JCL_TLS_CA (${cfg.tls.certFile}, ${cfg.tls.keyFile}, ${cfg.tls.caFile}): not a usable certificate, key and CA: ${describeError(err)}`,
      { cause: err },
    );
  }
  return { token, tls: { cert, key, ca, serverName: cfg.tls.serverName, peerName: cfg.tls.peerName } };
}

/** Start the runtime from a parsed config (tests call this with port 0 and short timeouts). */
export async function startDistributed(
  cfg: DistConfig,
  secrets: DistSecrets,
  log: DistLogger,
): Promise<DistributedCollective> {
  const status = new StatusReporter(cfg.worldSize);
  // Every refusal of this worker, on every port; rank 0 serves the gang's (the others report theirs).
  const refusals = new RefusalLog(log);
  const gang = new GangRefusals(cfg.worldSize, () => refusals.counts());
  status.setRefusalSource(() => gang.snapshot());
  let statusServer: StatusServer | undefined;
  if (cfg.rank === 0 && secrets.token.length > 0) {
    statusServer = await startStatusServer({
      reporter: status,
      token: secrets.token,
      port: cfg.statusPort,
      bindHost: cfg.bindHost,
      tls: secrets.tls,
      refusals,
    });
    log.info({ port: statusServer.port }, 'status endpoint listening');
  }
  if (cfg.worldSize === 1) {
    const local = new LocalCollective();
    const closeLocal = async () => {
      refusals.flush();
      await statusServer?.close();
    };
    return Object.assign(local, {
      peers: ['local'],
      status,
      dataPlane: 'local' as const,
      statusPort: statusServer?.port,
      close: closeLocal,
      abort: closeLocal,
    });
  }
  try {
    return await startRing(cfg, secrets, { status, statusServer, refusals, gang }, log);
  } catch (err) {
    await statusServer?.close();
    throw err;
  }
}

/** What startDistributed made before the ring: status, its endpoint, and the refusal counts. */
interface RingContext {
  status: StatusReporter;
  statusServer: StatusServer | undefined;
  refusals: RefusalLog;
  gang: GangRefusals;
}

async function startRing(
  cfg: DistConfig,
  secrets: DistSecrets,
  { status, statusServer, refusals, gang }: RingContext,
  log: DistLogger,
): Promise<DistributedCollective> {
  status.update({ phase: 'rendezvous' });
  const authenticate = createCallAuthenticator(secrets.token, refusals);
  const server = new grpc.Server(workerServerOptions(cfg));
  let transport: GrpcTransport | TcpTransport | null = null;
  let listener: DataListener | null = null;
  let coordinator: RendezvousCoordinator | null = null;
  let client: RendezvousClient | null = null;
  let grpcListener: GrpcListener | null = null;
  let reporter: RefusalReporter | null = null;
  const cleanup = async () => {
    await reporter?.stop();
    await transport?.close();
    listener?.close();
    coordinator?.close();
    client?.close();
    refusals.flush();
    await grpcListener?.close(2_000);
  };
  try {
    // Rendezvous joins (rank 0), the next rank's subscription (gRPC plane), and outsiders up to the cap.
    grpcListener = await GrpcListener.start(
      server,
      cfg.bindHost,
      cfg.port,
      createServerCredentials(secrets.tls),
      { maxConnections: cfg.worldSize + MAX_UNAUTHENTICATED, refusals, plane: 'grpc' },
    );
    const port = grpcListener.port;
    // Peers may dial us as soon as they know the table, before our transport exists: the data plane is
    // served from the start and holds early arrivals (DataListener, GrpcTransport.addService).
    if (cfg.dataPlane === 'tcp')
      listener = await DataListener.start(cfg.bindHost, cfg.dataPort, secrets.tls, {
        helloTimeoutMs: Math.min(HELLO_TIMEOUT_MS, cfg.peerTimeoutMs),
        refusals,
      });
    const releaseEarlySubscribers =
      cfg.dataPlane === 'grpc'
        ? GrpcTransport.addService(
            server,
            cfg.chunkBytes,
            authenticate,
            () => transport as GrpcTransport | null,
          )
        : () => {};
    const dataPort = listener?.port ?? 0;
    const startDeadline = Date.now() + cfg.startupTimeoutMs;
    let res: JoinResponse;
    if (cfg.rank === 0) {
      const coordHost = cfg.coordinator.replace(/:\d+$/, '');
      coordinator = new RendezvousCoordinator(
        cfg.worldSize,
        cfg.coordinator,
        randomUUID(),
        cfg.startupTimeoutMs,
        listener ? `${coordHost}:${dataPort}` : '',
      );
      addRendezvousService(server, coordinator, authenticate, gang, secrets.tls);
      log.info({ port, dataPort, worldSize: cfg.worldSize }, 'rendezvous: waiting for workers');
      res = await coordinator.whenComplete();
    } else {
      const channelOptions = {
        'grpc.max_receive_message_length': MAX_CONTROL_MESSAGE_BYTES,
        ...keepaliveOptions(cfg.peerTimeoutMs),
        ...tlsChannelOptions(secrets.tls, 0),
      };
      client = createRendezvousClient(
        cfg.coordinator,
        secrets.token,
        createChannelCredentials(secrets.tls),
        channelOptions,
        startDeadline,
        secrets.tls,
      );
      log.info({ coordinator: cfg.coordinator, port, dataPort }, 'rendezvous: joining');
      res = await client.join({
        rank: cfg.rank,
        worldSize: cfg.worldSize,
        host: cfg.advertiseHost,
        port,
        dataPort,
      });
    }
    const peers = res.peers.map((p) => p.address);
    const common = {
      rank: cfg.rank,
      token: secrets.token,
      sessionId: res.sessionId,
      tls: secrets.tls,
      peerTimeoutMs: cfg.peerTimeoutMs,
      chunkBytes: cfg.chunkBytes,
      log,
    };
    if (listener !== null) {
      const tcp = new TcpTransport({
        ...common,
        peers: res.peers.map((p) => p.dataAddress),
        streams: cfg.tcpStreams,
        dialFrom: [ringNeighbours(cfg.rank, cfg.worldSize).prev],
      });
      listener.attach(tcp);
      transport = tcp;
    } else {
      const grpcTransport = new GrpcTransport({
        ...common,
        peers,
        windowBytes: cfg.windowBytes,
        subscribeTo: [ringNeighbours(cfg.rank, cfg.worldSize).prev],
      });
      transport = grpcTransport;
      releaseEarlySubscribers();
    }
    const barrier = (name: string, timeoutMs: number): Promise<void> =>
      coordinator !== null
        ? localBarrier(coordinator, name, cfg.rank, timeoutMs)
        : (client as RendezvousClient).barrier(name, cfg.rank, timeoutMs);
    await barrier('start', Math.max(1_000, startDeadline - Date.now()));
    log.info({ rank: cfg.rank, peers, dataPlane: cfg.dataPlane }, 'rendezvous: gang formed');
    status.update({ phase: 'training' });
    if (client !== null) {
      const rendezvous = client;
      reporter = new RefusalReporter({
        refusals,
        log,
        send: (counts) =>
          rendezvous.reportRefusals(
            { sessionId: res.sessionId, refusals: { rank: cfg.rank, counts: toWireCounts(counts) } },
            2_000,
          ),
      });
      reporter.start();
    }
    const ring = new RingCollective(transport, {
      chunkBytes: cfg.chunkBytes,
      bucketBytes: cfg.bucketBytes,
      onFailure: (err) => {
        log.error({ code: err.code, err: err.message }, `collective failed: ${err.message}`);
        // "rank 2 (...) aborted: peer rank 1 (...) sent nothing": the last rank named is the root cause.
        const named = [...err.message.matchAll(/rank (\d+) \(/g)];
        const peer = named.at(-1);
        status.reportFault({
          code: err.code,
          message: err.message,
          peerRank: peer ? Number(peer[1]) : undefined,
        });
      },
    });
    return Object.assign(ring, {
      peers,
      status,
      dataPlane: cfg.dataPlane,
      statusPort: statusServer?.port,
      close: async () => {
        // Leave together: no rank may tear down sockets a peer is still reading from.
        if (ring.failed === null) await barrier('close', cfg.peerTimeoutMs).catch(() => {});
        await cleanup();
        await statusServer?.close();
      },
      abort: async (reason: unknown) => {
        const err =
          reason instanceof JclError
            ? reason
            : new JclError('internal', describeError(reason), { cause: reason });
        status.reportFault({ code: err.code, message: err.message });
        (transport as GrpcTransport | TcpTransport).abort(err);
        await cleanup();
        await statusServer?.close();
      },
    });
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Rank 0's own barrier entry, withdrawn with deadline_exceeded when not every rank arrived in `timeoutMs`. */
function localBarrier(
  coordinator: RendezvousCoordinator,
  name: string,
  rank: number,
  timeoutMs: number,
): Promise<void> {
  const signal = AbortSignal.timeout(timeoutMs);
  return coordinator.barrier(name, rank, signal).catch((err: unknown) => {
    if (!signal.aborted) throw err;
    throw new JclError('deadline_exceeded', `barrier ${name}: not every rank arrived within ${timeoutMs} ms`);
  });
}
