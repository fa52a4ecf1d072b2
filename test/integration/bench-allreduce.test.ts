import { describe, expect, it } from 'vitest';
import { runJcl } from './support/run-jcl.ts';

describe('jcl bench allreduce', () => {
  it('reports busbw against the simplex and duplex TCP ceilings of the same run', () => {
    const r = runJcl([
      'bench',
      'allreduce',
      '--workers',
      '2',
      '--mb',
      '2',
      '--iters',
      '2',
      '--plane',
      'tcp',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(out).toMatchObject({ workers: 2, bytes: 2_000_000, iters: 2, dataPlane: 'tcp' });
    expect(out.timesMs).toHaveLength(2);
    // Five simplex samples, the median of which is the ceiling.
    expect(out.tcpCeilingSamplesGBps).toHaveLength(5);
    const sorted = [...out.tcpCeilingSamplesGBps].sort((a: number, b: number) => a - b);
    expect(out.tcpCeilingGBps).toBe(sorted[2]);
    expect(out.tcpDuplexCeilingGBps).toBeGreaterThan(0);
    // n = 2: busbw = algbw; ratios follow from the reported figures (rounded to 3 decimals).
    expect(out.busbwGBps).toBe(out.algbwGBps);
    expect(out.busbwOfCeiling).toBeCloseTo(out.busbwGBps / out.tcpCeilingGBps, 1);
    expect(out.busbwOfDuplexCeiling).toBeCloseTo(out.busbwGBps / out.tcpDuplexCeilingGBps, 1);
  });

  it('refuses an unknown data plane, naming the flag and the value', () => {
    const r = runJcl(['bench', 'allreduce', '--plane', 'udp']);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('--plane: expected grpc or tcp, got "udp"');
  });
});
