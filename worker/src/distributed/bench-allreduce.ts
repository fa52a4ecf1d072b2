/**
 * `jcl bench allreduce`: ring all-reduce bandwidth between worker processes on loopback, next to the raw
 * TCP ceilings measured in the same run. Bandwidths follow nccl-tests (PERFORMANCE.md there):
 *   algbw = bytes / time;  busbw = algbw * 2(n-1)/n,
 * busbw being what each link carries, so it compares directly with the single-link TCP ceiling. bytes are
 * the float32 gradient's (45 MB for --mb 45) whatever `dtype` travels: with bfloat16, busbw is the gradient
 * bandwidth a training step sees, and wireBusbw (half of it) what the sockets carried. The simplex
 * ceiling (one direction of a plain socket pair) is the bar; the duplex one (both directions at
 * once, per direction) is what a link of a busy ring can carry on a host whose CPUs copy both directions.
 */
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { launchLocalWorkers } from './launch-local.ts';
import { silentLogger } from './log.ts';
import { DIST_DEFAULTS, type DataPlane } from './dist-config.ts';
import { measureGrpcStreamCeiling } from './grpc-ceiling.ts';
import { median } from '../util/stats.ts';
import { measureTcpCeiling } from './tcp-ceiling.ts';
import { wireBytesPerElement, type GradientDtype } from './bf16.ts';

export interface AllReduceBenchOptions {
  workers: number;
  /** Buffer size in MB (10^6 bytes): 11 ~ a small ResNet's gradients, 45 ~ ResNet-18's. */
  mb: number;
  iters: number;
  /** Data plane of the workers; default the runtime's default. */
  plane?: DataPlane;
  /** Element type on the wire (bfloat16: half the bytes, float32 accumulation); default float32. */
  dtype?: GradientDtype;
  /** Extra JCL_* settings for the workers (JCL_CHUNK_BYTES, JCL_WINDOW_BYTES, JCL_BUCKET_BYTES, JCL_TCP_STREAMS). */
  env?: Readonly<Record<string, string>>;
}

export interface AllReduceBenchResult {
  workers: number;
  bytes: number;
  iters: number;
  timesMs: number[];
  /** Median over iterations, GB/s (10^9 bytes). */
  algbwGBps: number;
  busbwGBps: number;
  bestBusbwGBps: number;
  dataPlane: DataPlane;
  dtype: GradientDtype;
  /**
   * busbw counted in bytes on the wire (= busbwGBps for float32, half of it for bfloat16): what the
   * transport itself moved, comparable with the TCP ceiling as a transport figure.
   */
  wireBusbwGBps: number;
  wireBusbwOfCeiling: number;
  /** Median of the simplex samples: one direction of a plain socket pair. */
  tcpCeilingGBps: number;
  tcpCeilingSamplesGBps: number[];
  /** busbw / ceiling: the figure of merit. */
  busbwOfCeiling: number;
  /** Median per-direction throughput of a plain socket pair sending both ways at once. */
  tcpDuplexCeilingGBps: number;
  busbwOfDuplexCeiling: number;
  /** One bare grpc-js stream with the same chunk and window sizes: what gRPC in Node allows per link. */
  grpcStreamGBps: number;
  /** busbw / grpcStreamGBps: the efficiency of the algorithm on top of its transport. */
  busbwOfGrpcStream: number;
  /** CPU time (user + system) rank 0 spent per iteration, ms. */
  cpuMsPerIter: number;
  /** Load average when the run ended: figures from a busy machine are not comparable. */
  loadAvg1m: number;
  env: Readonly<Record<string, string>>;
}

const PROBE = fileURLToPath(new URL('./collective-probe.ts', import.meta.url));

/** Run the benchmark; resolves with a JSON-able result. */
export async function runAllReduceBench(o: AllReduceBenchOptions): Promise<AllReduceBenchResult> {
  const elems = Math.floor((o.mb * 1e6) / 4);
  const bytes = elems * 4;
  const plane = o.plane ?? DIST_DEFAULTS.dataPlane;
  const dtype = o.dtype ?? 'float32';
  const wireShare = wireBytesPerElement(dtype) / 4;
  // Ceiling samples move as many bytes as one link carries in an iteration, at least 256 MB each. Two are
  // taken before the ring and three after it, so that a shared machine's changing load affects the
  // references and the ring alike; the median is used.
  const ceilingBytes = Math.max(256e6, 2 * bytes);
  const simplex = (await measureTcpCeiling(ceilingBytes, 'simplex', 2)).samples;
  let report: { timesMs: number[]; cpuMsPerIter: number } | null = null;
  const stderr: string[] = [];
  const code = await launchLocalWorkers({
    workers: o.workers,
    command: [process.execPath, '--import', 'tsx', PROBE],
    args: ['bench', String(elems), String(o.iters), dtype],
    env: { JCL_PEER_TIMEOUT_MS: '60000', ...o.env, JCL_DATA_PLANE: plane },
    log: silentLogger,
    onLine: (rank, line, stream) => {
      if (stream === 'stdout' && rank === 0 && line.includes('"bench":true')) report = JSON.parse(line);
      else if (stream === 'stderr') stderr.push(`[rank ${rank}] ${line}`);
    },
  });
  if (code !== 0 || report === null) {
    throw new Error(`all-reduce benchmark workers exited with ${code}:\n${stderr.slice(-20).join('\n')}`);
  }
  const { timesMs, cpuMsPerIter } = report as { timesMs: number[]; cpuMsPerIter: number };
  simplex.push(...(await measureTcpCeiling(ceilingBytes, 'simplex', 1)).samples);
  const chunkBytes = Number(o.env?.JCL_CHUNK_BYTES ?? DIST_DEFAULTS.chunkBytes);
  const windowBytes = Number(o.env?.JCL_WINDOW_BYTES ?? DIST_DEFAULTS.windowBytes);
  const grpcStream = await measureGrpcStreamCeiling(ceilingBytes, chunkBytes, windowBytes);
  simplex.push(...(await measureTcpCeiling(ceilingBytes, 'simplex', 2)).samples);
  const ceiling = median(simplex);
  const duplex = (await measureTcpCeiling(ceilingBytes, 'duplex', 3)).median;
  const factor = (2 * (o.workers - 1)) / o.workers;
  const algbw = bytes / (median(timesMs) / 1e3);
  const best = bytes / (Math.min(...timesMs) / 1e3);
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    workers: o.workers,
    bytes,
    iters: o.iters,
    timesMs: timesMs.map(round),
    algbwGBps: round(algbw / 1e9),
    busbwGBps: round((algbw * factor) / 1e9),
    bestBusbwGBps: round((best * factor) / 1e9),
    dataPlane: plane,
    dtype,
    wireBusbwGBps: round((algbw * factor * wireShare) / 1e9),
    wireBusbwOfCeiling: round((algbw * factor * wireShare) / ceiling),
    tcpCeilingGBps: round(ceiling / 1e9),
    tcpCeilingSamplesGBps: simplex.map((x) => round(x / 1e9)),
    busbwOfCeiling: round((algbw * factor) / ceiling),
    tcpDuplexCeilingGBps: round(duplex / 1e9),
    busbwOfDuplexCeiling: round((algbw * factor) / duplex),
    grpcStreamGBps: round(grpcStream / 1e9),
    busbwOfGrpcStream: round((algbw * factor) / grpcStream),
    cpuMsPerIter: round(cpuMsPerIter),
    loadAvg1m: round(loadavg()[0]),
    env: o.env ?? {},
  };
}
