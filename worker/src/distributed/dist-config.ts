/**
 * The distributed runtime's settings, parsed once from the worker environment (docs/ARCHITECTURE.md, "The
 * worker contract") into a frozen object. Pure: the caller passes `env`; files named here are read later at
 * the I/O edge (create-collective.ts). Every problem is collected with the variable name and the value.
 */
import { JclError } from '../util/errors.ts';

export interface DistConfig {
  rank: number;
  worldSize: number;
  /** host:port of rank 0's rendezvous/collective server. */
  coordinator: string;
  /** Port this worker listens on; 0 picks a free one (local launcher). */
  port: number;
  bindHost: string;
  /** Host other workers dial; empty: the address rank 0 sees the join coming from. */
  advertiseHost: string;
  statusPort: number;
  token: { value: string } | { file: string };
  tls?: { certFile: string; keyFile: string; caFile: string; serverName?: string; peerName?: string };
  /** How long rank 0 waits for every rank to join, and a rank waits for rank 0. */
  startupTimeoutMs: number;
  /** Bound on detecting a dead or hung peer. */
  peerTimeoutMs: number;
  chunkBytes: number;
  bucketBytes: number;
  windowBytes: number;
  /** How frames travel: the raw TCP data plane (default, tcp-transport.ts) or gRPC streams. */
  dataPlane: DataPlane;
  /** Port of the raw TCP data plane; 0 picks a free one. */
  dataPort: number;
  /**
   * Connections per directed pair on the TCP data plane (frames round-robin over them). Default 1: on the
   * 2-core bench machine 2 and 4 streams were not faster (docs/BENCHMARKS.md, "Scale out", session 7).
   */
  tcpStreams: number;
}

export type Env = Readonly<Record<string, string | undefined>>;

export type DataPlane = 'grpc' | 'tcp';

export function isDataPlane(x: unknown): x is DataPlane {
  return x === 'grpc' || x === 'tcp';
}

export const DIST_DEFAULTS = Object.freeze({
  port: 29500,
  statusPort: 29501,
  bindHost: '0.0.0.0',
  startupTimeoutMs: 300_000,
  peerTimeoutMs: 30_000,
  chunkBytes: 1 << 20,
  bucketBytes: 32 << 20,
  windowBytes: 16 << 20,
  dataPlane: 'tcp' as DataPlane,
  dataPort: 29502,
  tcpStreams: 1,
});

/** Upper bound of JCL_TCP_STREAMS. */
export const MAX_TCP_STREAMS = 16;

/** Parse and validate the JCL_* variables; throws JclError('invalid_config') listing every problem. */
export function parseDistEnv(env: Env): DistConfig {
  const problems: string[] = [];
  const int = (
    name: string,
    dflt: number | undefined,
    min: number,
    max = Number.MAX_SAFE_INTEGER,
  ): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') {
      if (dflt === undefined) problems.push(`${name}: required, got nothing`);
      return dflt ?? 0;
    }
    const v = Number(raw);
    if (!Number.isInteger(v) || v < min || v > max) {
      problems.push(`${name}: expected an integer in [${min}, ${max}], got ${JSON.stringify(raw)}`);
    }
    return v;
  };
  const worldSize = int('JCL_WORLD_SIZE', 1, 1, 4096);
  const rank = int('JCL_RANK', 0, 0, 4095);
  if (rank >= worldSize && problems.length === 0)
    problems.push(`JCL_RANK: expected < JCL_WORLD_SIZE (${worldSize}), got ${rank}`);
  const coordinator = env.JCL_COORDINATOR ?? '';
  const coordPort = Number(/:(\d+)$/.exec(coordinator)?.[1] ?? NaN);
  if (worldSize > 1 && !(coordPort >= 1 && coordPort <= 65535)) {
    problems.push(`JCL_COORDINATOR: expected host:port, got ${JSON.stringify(coordinator)}`);
  }
  // Rank 0 listens where the others dial it unless told otherwise.
  const port = int('JCL_PORT', rank === 0 && coordPort > 0 ? coordPort : DIST_DEFAULTS.port, 0, 65535);
  if (rank === 0 && worldSize > 1 && env.JCL_PORT && port !== coordPort) {
    problems.push(`JCL_PORT: rank 0 must listen on the JCL_COORDINATOR port ${coordPort}, got ${port}`);
  }
  let token: DistConfig['token'] = { value: '' };
  if (env.JCL_TOKEN_FILE) token = { file: env.JCL_TOKEN_FILE };
  else if (env.JCL_TOKEN) token = { value: env.JCL_TOKEN };
  else if (worldSize > 1)
    problems.push('JCL_TOKEN_FILE or JCL_TOKEN: required when JCL_WORLD_SIZE > 1, got neither');
  const tlsVars = ['JCL_TLS_CERT', 'JCL_TLS_KEY', 'JCL_TLS_CA'].filter((k) => env[k]);
  if (tlsVars.length > 0 && tlsVars.length < 3) {
    problems.push(
      `JCL_TLS_CERT, JCL_TLS_KEY, JCL_TLS_CA: set all three or none, got only ${tlsVars.join(', ')}`,
    );
  }
  const cfg: DistConfig = {
    rank,
    worldSize,
    coordinator,
    port,
    bindHost: env.JCL_BIND_HOST || DIST_DEFAULTS.bindHost,
    advertiseHost: env.JCL_ADVERTISE_HOST ?? '',
    statusPort: int('JCL_STATUS_PORT', DIST_DEFAULTS.statusPort, 0, 65535),
    token,
    startupTimeoutMs: int('JCL_STARTUP_TIMEOUT_MS', DIST_DEFAULTS.startupTimeoutMs, 100),
    peerTimeoutMs: int('JCL_PEER_TIMEOUT_MS', DIST_DEFAULTS.peerTimeoutMs, 100),
    chunkBytes: int('JCL_CHUNK_BYTES', DIST_DEFAULTS.chunkBytes, 4, 64 << 20),
    bucketBytes: int('JCL_BUCKET_BYTES', DIST_DEFAULTS.bucketBytes, 4),
    windowBytes: int('JCL_WINDOW_BYTES', DIST_DEFAULTS.windowBytes, 65535, 2 ** 31 - 1),
    dataPlane: DIST_DEFAULTS.dataPlane,
    dataPort: int('JCL_DATA_PORT', DIST_DEFAULTS.dataPort, 0, 65535),
    tcpStreams: int('JCL_TCP_STREAMS', DIST_DEFAULTS.tcpStreams, 1, MAX_TCP_STREAMS),
  };
  const plane = env.JCL_DATA_PLANE || DIST_DEFAULTS.dataPlane;
  if (isDataPlane(plane)) cfg.dataPlane = plane;
  else problems.push(`JCL_DATA_PLANE: expected grpc or tcp, got ${JSON.stringify(plane)}`);
  if (cfg.chunkBytes % 4 !== 0)
    problems.push(`JCL_CHUNK_BYTES: expected a multiple of 4, got ${cfg.chunkBytes}`);
  if (cfg.bucketBytes < cfg.chunkBytes)
    problems.push(
      `JCL_BUCKET_BYTES: expected >= JCL_CHUNK_BYTES (${cfg.chunkBytes}), got ${cfg.bucketBytes}`,
    );
  if (tlsVars.length === 3) {
    cfg.tls = {
      certFile: env.JCL_TLS_CERT!,
      keyFile: env.JCL_TLS_KEY!,
      caFile: env.JCL_TLS_CA!,
      serverName: env.JCL_TLS_SERVER_NAME || undefined,
      peerName: env.JCL_TLS_PEER_NAME || undefined,
    };
  }
  const peerName = env.JCL_TLS_PEER_NAME;
  if (peerName && !peerName.includes('{rank}'))
    problems.push(`JCL_TLS_PEER_NAME: expected a name containing {rank}, got ${JSON.stringify(peerName)}`);
  if (peerName && env.JCL_TLS_SERVER_NAME)
    problems.push(
      `JCL_TLS_SERVER_NAME: set at most one of it and JCL_TLS_PEER_NAME, got ${JSON.stringify(env.JCL_TLS_SERVER_NAME)}`,
    );
  if (peerName && tlsVars.length === 0)
    problems.push(
      `JCL_TLS_PEER_NAME: needs JCL_TLS_CERT, JCL_TLS_KEY and JCL_TLS_CA, got ${JSON.stringify(peerName)}`,
    );
  if (problems.length > 0) {
    throw new JclError('invalid_config', `invalid distributed environment:\n  ${problems.join('\n  ')}`, {
      details: problems,
    });
  }
  return Object.freeze(cfg);
}
