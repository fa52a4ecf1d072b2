/**
 * The ProgressPoller backed by worker/src/distributed's fetchStatus (rank 0's gRPC Status service). Loaded
 * lazily so that the operator's import graph does not pull in gRPC until the first poll.
 */
import type { ProgressReport } from '../status/observed.ts';
import type { ProgressPoller } from '../reconcile/reconciler.ts';

/** The subset of worker/src/distributed/wire.ts StatusResponse the operator reads. */
interface StatusResponseLike {
  epoch?: number;
  step?: number;
  lossTotal?: number;
  imagesPerSec?: number;
  lastCheckpoint?: string;
  fault?: { code?: string; message?: string; peerRank?: number } | null;
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
    const peer = r.fault.peerRank === undefined ? '' : ` (peer rank ${r.fault.peerRank})`;
    out.fault = `${r.fault.code ?? 'fault'}: ${r.fault.message ?? ''}${peer}`;
    if (typeof r.fault.peerRank === 'number') out.faultPeerRank = r.fault.peerRank;
  }
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
