/**
 * What rank 0 tells the operator: the latest training progress, updated by the training loop and read by the
 * Status gRPC service (status-server.ts). Pure state; the clock is injectable for tests.
 */
import type { StatusResponse, WireFault, WireGangRefusals } from './wire.ts';

export type TrainingPhase =
  'starting' | 'rendezvous' | 'training' | 'evaluating' | 'checkpointing' | 'done' | 'failed';

/** Fields the training loop reports; all optional so a loop can update what it knows. */
export interface StatusUpdate {
  phase?: TrainingPhase;
  epoch?: number;
  step?: number;
  lossTotal?: number;
  lossCls?: number;
  lossJcl?: number;
  contrastAcc?: number;
  imagesPerSec?: number;
  lastCheckpoint?: string;
}

/** A fault worth surfacing in the job status (e.g. the peer that was lost). */
export interface StatusFault {
  code: string;
  message: string;
  peerRank?: number;
}

export class StatusReporter {
  private state: StatusResponse;
  private refusals: (() => WireGangRefusals) | undefined;

  constructor(
    worldSize: number,
    private readonly now: () => number = Date.now,
  ) {
    this.state = {
      phase: 'starting',
      epoch: 0,
      step: 0,
      lastCheckpoint: '',
      worldSize,
      fault: null,
      updatedAtUnixMs: now(),
    };
  }

  /** Merge `u` into the current status; non-finite numbers are dropped rather than sent as NaN. */
  update(u: StatusUpdate): void {
    const next: StatusResponse = { ...this.state, updatedAtUnixMs: this.now() };
    for (const [k, v] of Object.entries(u)) {
      if (v === undefined || (typeof v === 'number' && !Number.isFinite(v))) continue;
      (next as unknown as Record<string, unknown>)[k] = v;
    }
    this.state = next;
  }

  /** Record a fault; a fatal one also moves the phase to failed. */
  reportFault(f: StatusFault, fatal = true): void {
    const fault: WireFault = {
      code: f.code,
      message: f.message,
      peerRank: f.peerRank ?? -1,
      atUnixMs: this.now(),
    };
    this.state = {
      ...this.state,
      fault,
      phase: fatal ? 'failed' : this.state.phase,
      updatedAtUnixMs: this.now(),
    };
  }

  /** Serve the gang's refusal counts (GangRefusals.snapshot) with every status from now on. */
  setRefusalSource(source: () => WireGangRefusals): void {
    this.refusals = source;
  }

  /** A copy of the current status, as served to the operator. */
  snapshot(): StatusResponse {
    const s = structuredClone(this.state);
    return this.refusals ? { ...s, refusals: this.refusals() } : s;
  }
}
