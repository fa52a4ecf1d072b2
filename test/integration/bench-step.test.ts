import { describe, expect, it } from 'vitest';
import { runJcl } from './support/run-jcl.ts';

describe('jcl bench step', () => {
  it('--workers 2 runs the step as a gang of two processes and reports each one', () => {
    const r = runJcl([
      'bench',
      'step',
      '--model',
      'resnet-tiny',
      '--image-size',
      '16',
      '--batch',
      '8',
      '--keys',
      '2',
      '--queue',
      '64',
      '--steps',
      '2',
      '--warmup',
      '1',
      '--backend',
      'wasm',
      '--workers',
      '2',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(out).toMatchObject({ backend: 'wasm', batch: 8, keys: 2, workers: 2, numTensorsGrowth: 0 });
    expect(out.stepMs).toHaveLength(2);
    expect(out.peakRssMBPerWorker).toHaveLength(2);
    expect(out.peakRssMB).toBe(Math.max(...out.peakRssMBPerWorker));
    expect(out.imagesPerSec).toBeCloseTo((8 * 1000) / out.medianStepMs, 6);
  });

  it('refuses a batch that does not split over the workers, naming both', () => {
    const r = runJcl(['bench', 'step', '--batch', '9', '--workers', '2']);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('--batch: must split evenly over --workers 2, got 9 (try 10)');
  });
});
