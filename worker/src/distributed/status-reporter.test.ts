import { describe, expect, it } from 'vitest';
import { StatusReporter } from './status-reporter.ts';

describe('StatusReporter', () => {
  it('merges updates, drops non-finite numbers and records faults', () => {
    let now = 1_000;
    const r = new StatusReporter(4, () => now);
    r.update({ phase: 'training', epoch: 1, step: 10, lossTotal: 5.5, lossCls: Number.NaN });
    now = 2_000;
    r.update({ step: 11, imagesPerSec: 120, lastCheckpoint: 'ckpt-10' });
    expect(r.snapshot()).toEqual({
      phase: 'training',
      epoch: 1,
      step: 11,
      lossTotal: 5.5,
      imagesPerSec: 120,
      lastCheckpoint: 'ckpt-10',
      worldSize: 4,
      fault: null,
      updatedAtUnixMs: 2_000,
    });
    r.reportFault({ code: 'peer_lost', message: 'lost rank 2', peerRank: 2 });
    expect(r.snapshot()).toMatchObject({
      phase: 'failed',
      fault: { code: 'peer_lost', message: 'lost rank 2', peerRank: 2, atUnixMs: 2_000 },
    });
  });

  it('serves the refusal counts of its source with each snapshot', () => {
    const r = new StatusReporter(2, () => 5);
    const ranks = [{ rank: 1, counts: [{ reason: 'wrong_token', count: 1 }] }];
    r.setRefusalSource(() => ({ ranks }));
    expect(r.snapshot()).toEqual({
      phase: 'starting',
      epoch: 0,
      step: 0,
      lastCheckpoint: '',
      worldSize: 2,
      fault: null,
      updatedAtUnixMs: 5,
      refusals: { ranks },
    });
    ranks[0].counts[0].count = 2;
    expect(r.snapshot().refusals?.ranks[0].counts[0].count).toBe(2);
  });
});
