import { describe, expect, it } from 'vitest';
import { runJcl } from './support/run-jcl.ts';
import type { AllReduceBenchResult } from '../../worker/src/distributed/bench-allreduce.ts';

/** A short 2-worker, 2 MB run with `extra` flags; its JSON result. */
function benchJson(extra: string[]): AllReduceBenchResult {
  const r = runJcl(['bench', 'allreduce', '--workers', '2', '--mb', '2', '--iters', '2', ...extra, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

describe('jcl bench allreduce', () => {
  it('reports busbw against the simplex and duplex TCP ceilings of the same run', () => {
    const out = benchJson(['--plane', 'tcp']);
    expect(out).toMatchObject({ workers: 2, bytes: 2_000_000, iters: 2, dataPlane: 'tcp', dtype: 'float32' });
    expect(out.wireBusbwGBps).toBe(out.busbwGBps);
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

  it('--dtype bfloat16 reduces the float32 gradient with half the bytes on the wire', () => {
    const out = benchJson(['--dtype', 'bfloat16']);
    // bytes stay the float32 gradient's; the wire figure is half the gradient bandwidth.
    expect(out).toMatchObject({ workers: 2, bytes: 2_000_000, dtype: 'bfloat16' });
    expect(out.wireBusbwGBps).toBeCloseTo(out.busbwGBps / 2, 2);
    expect(out.wireBusbwOfCeiling).toBeCloseTo(out.wireBusbwGBps / out.tcpCeilingGBps, 1);
  });

  it('refuses an unknown dtype, naming the flag and the value', () => {
    const r = runJcl(['bench', 'allreduce', '--dtype', 'float16']);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('--dtype: expected one of float32, bfloat16, got "float16"');
  });

  it('refuses an unknown data plane, naming the flag and the value', () => {
    const r = runJcl(['bench', 'allreduce', '--plane', 'udp']);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('--plane: expected grpc or tcp, got "udp"');
  });
});
