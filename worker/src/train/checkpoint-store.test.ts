import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JclError } from '../util/errors.ts';
import type { Checkpoint } from './checkpoint-format.ts';
import { listCheckpoints, loadLatestCheckpoint, saveCheckpoint } from './checkpoint-store.ts';

function makeCheckpoint(step: number): Checkpoint {
  return {
    header: {
      version: 1,
      epoch: 0,
      stepInEpoch: step,
      globalStep: step,
      queuePointer: 3,
      rngState: [1, 2, 3, 4],
      sgdSteps: step,
      config: { a: 1 },
      createdAt: 'now',
      info: {},
    },
    tensors: new Map([
      ['query/w', { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, step]) }],
      ['queue', { shape: [1, 2], data: Float32Array.from([0.5, -0.5]) }],
    ]),
  };
}

describe('checkpoint store', () => {
  it('round-trips every tensor and header field, and keeps only the last N', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
    for (const s of [1, 2, 3, 4]) saveCheckpoint(dir, makeCheckpoint(s), 2);
    expect(listCheckpoints(dir).map((p) => p.slice(dir.length + 1))).toEqual([
      'ckpt-000000004.jclckpt',
      'ckpt-000000003.jclckpt',
    ]);
    const loaded = loadLatestCheckpoint(dir, () => undefined)!;
    expect(loaded.ckpt.header).toEqual(makeCheckpoint(4).header);
    expect(Array.from(loaded.ckpt.tensors.get('query/w')!.data)).toEqual([1, 2, 3, 4, 5, 4]);
    expect(loaded.ckpt.tensors.get('queue')!.shape).toEqual([1, 2]);
  });

  it('detects a truncated newest checkpoint and falls back to the previous one with a warning', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
    saveCheckpoint(dir, makeCheckpoint(1), 3);
    const newest = saveCheckpoint(dir, makeCheckpoint(2), 3);
    const bytes = readFileSync(newest);
    writeFileSync(newest, bytes.subarray(0, bytes.length - 10));
    const warnings: string[] = [];
    const loaded = loadLatestCheckpoint(dir, (msg) => warnings.push(msg))!;
    expect(loaded.ckpt.header.globalStep).toBe(1);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/checksum mismatch/);
  });

  it('detects a flipped byte, and fails clearly when nothing intact is left', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const only = saveCheckpoint(dir, makeCheckpoint(1), 3);
    const bytes = readFileSync(only);
    bytes[bytes.length - 40] ^= 0xff;
    writeFileSync(only, bytes);
    expect(() => loadLatestCheckpoint(dir, () => undefined)).toThrow(JclError);
    expect(() => loadLatestCheckpoint(dir, () => undefined)).toThrow(/all 1 checkpoints are corrupt/);
  });

  it('returns null for an empty directory (a fresh run)', () => {
    expect(loadLatestCheckpoint(mkdtempSync(join(tmpdir(), 'ckpt-')), () => undefined)).toBeNull();
  });
});
