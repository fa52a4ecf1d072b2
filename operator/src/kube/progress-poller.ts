/**
 * The ProgressPoller backed by worker/src/distributed's fetchStatus (rank 0's gRPC Status service). Loaded
 * lazily so that the operator's import graph does not pull in gRPC until the first poll.
 */
import { isRefusalReason } from '../../../worker/src/distributed/refusal-log.ts';
import type { ProgressReport, WorkerRefusalCount } from '../status/observed.ts';
import type { ProgressPoller } from '../reconcile/reconciler.ts';

/** The subset of worker/src/distributed/wire.ts StatusResponse the operator reads. */
interface StatusResponseLike {
  epoch?: number;
  step?: number;
  lossTotal?: number;
  imagesPerSec?: number;
  lastCheckpoint?: string;
  fault?: { code?: string; message?: string; peerRank?: number } | null;
  refusals?: {
    ranks?: Array<{ rank?: number; counts?: Array<{ reason?: string; count?: number }> }>;
  } | null;
}

/**
 * The refusal counts of a status response, flat; entries that could not come from a worker of this
 * version (an unknown reason, a negative or fractional count or rank) are dropped, so the metric's label
 * values stay the fixed set. undefined when the worker does not send them.
 */
function toRefusalCounts(r: StatusResponseLike['refusals']): WorkerRefusalCount[] | undefined {
  if (!r) return undefined;
  return (r.ranks ?? []).flatMap(({ rank, counts }) =>
    (counts ?? []).flatMap(({ reason, count }) =>
      typeof rank === 'number' &&
      Number.isInteger(rank) &&
      rank >= 0 &&
      isRefusalReason(reason) &&
      typeof count === 'number' &&
      Number.isSafeInteger(count) &&
      count >= 0
        ? [{ rank, reason, count }]
        : [],
    ),
  );
}

/** Map a status response to the operator's ProgressReport (pure): epoch 1-based, as users count. */
export function toProgressReport(r: StatusResponseLike): ProgressReport {
  const out: ProgressReport = {};
  // The worker counts epochs from 0 (the index of the epoch in progress); users count from 1, and the
  // EPOCH column of a finished 2-epoch job should read 2, not 1.
  if (typeof r.epoch === 'number') out.epoch = r.epoch + 1;
  if (typeof r.step === 'number') out.step = r.step;
  if (typeof r.lossTotal === 'number') out.loss = r.lossTotal;
  if (typeof r.imagesPerSec === 'number') out.imagesPerSec = r.imagesPerSec;
  if (r.lastCheckpoint) out.lastCheckpoint = r.lastCheckpoint;
  if (r.fault && (r.fault.code || r.fault.message)) {
    // The wire's "no peer" is -1 (StatusReporter.reportFault; protobuf defaults fill it in).
    const peerRank = r.fault.peerRank;
    const named = typeof peerRank === 'number' && Number.isInteger(peerRank) && peerRank >= 0;
    out.fault = `${r.fault.code ?? 'fault'}: ${r.fault.message ?? ''}${named ? ` (peer rank ${peerRank})` : ''}`;
    if (named) out.faultPeerRank = peerRank;
  }
  const refusals = toRefusalCounts(r.refusals);
  if (refusals) out.refusals = refusals;
  return out;
}

/** A poller that calls fetchStatus(address, token, timeoutMs). */
export function grpcProgressPoller(): ProgressPoller {
  type FetchStatus = (address: string, token: string, timeoutMs: number) => Promise<StatusResponseLike>;
  let fetchStatus: FetchStatus | undefined;
  return async (address, token, timeoutMs) => {
    if (!fetchStatus) {
      const mod = (await import('../../../worker/src/distributed/status-server.ts')) as unknown as {
        fetchStatus: FetchStatus;
      };
      fetchStatus = mod.fetchStatus;
    }
    return toProgressReport(await fetchStatus!(address, token, timeoutMs));
  };
}
