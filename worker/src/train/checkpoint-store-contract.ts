/**
 * The guarantees every CheckpointStorage gives through the checkpoint store, as one vitest suite run
 * against each backend: a directory (checkpoint-store.test.ts) and a real S3-compatible server
 * (test/integration/s3-checkpoints.test.ts). Test support, not shipped code.
 */
import { expect, it } from 'vitest';
import { JclError } from '../util/errors.ts';
import type { Checkpoint } from './checkpoint-format.ts';
import type { CheckpointStorage } from './checkpoint-storage.ts';
import { loadLatestCheckpoint, saveCheckpoint } from './checkpoint-store.ts';

/** A fresh, empty storage plus raw access to its bytes, to play a crash or a corruption. */
export interface ContractFixture {
  storage: CheckpointStorage;
  /** Replaces the stored bytes of a published checkpoint (bypassing publish). */
  tamper(name: string, edit: (bytes: Buffer) => Buffer): Promise<void>;
  /** Leaves what a writer killed in the middle of saving `name` leaves behind. */
  interruptSave(name: string, bytes: Buffer): Promise<void>;
}

export function makeCheckpoint(step: number): Checkpoint {
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

const NAME = (step: number) => `ckpt-${String(step).padStart(9, '0')}.jclckpt`;

/** Registers the contract's tests in the current describe block. */
export function checkpointStoreContract(fresh: () => Promise<ContractFixture>): void {
  it('round-trips every tensor and header field, and keeps only the last N', async () => {
    const { storage } = await fresh();
    for (const s of [1, 2, 3, 4]) await saveCheckpoint(storage, makeCheckpoint(s), 2);
    expect(await storage.list()).toEqual([NAME(4), NAME(3)]);
    const loaded = (await loadLatestCheckpoint(storage, () => undefined))!;
    expect(loaded.path).toBe(storage.where(NAME(4)));
    expect(loaded.ckpt.header).toEqual(makeCheckpoint(4).header);
    expect(Array.from(loaded.ckpt.tensors.get('query/w')!.data)).toEqual([1, 2, 3, 4, 5, 4]);
    expect(loaded.ckpt.tensors.get('queue')!.shape).toEqual([1, 2]);
  });

  it('loads exactly the named checkpoint when asked for one', async () => {
    const { storage } = await fresh();
    for (const s of [1, 2]) await saveCheckpoint(storage, makeCheckpoint(s), 3);
    const one = (await loadLatestCheckpoint(storage, () => undefined, NAME(1)))!;
    expect(one.ckpt.header.globalStep).toBe(1);
  });

  it('detects a truncated newest checkpoint and falls back to the previous one with a warning', async () => {
    const { storage, tamper } = await fresh();
    await saveCheckpoint(storage, makeCheckpoint(1), 3);
    await saveCheckpoint(storage, makeCheckpoint(2), 3);
    await tamper(NAME(2), (b) => b.subarray(0, b.length - 10));
    const warnings: string[] = [];
    const loaded = (await loadLatestCheckpoint(storage, (msg) => warnings.push(msg)))!;
    expect(loaded.ckpt.header.globalStep).toBe(1);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/checksum mismatch|truncated/);
    expect(warnings[0]).toContain(NAME(2));
  });

  it('detects a flipped byte, and fails clearly when nothing intact is left', async () => {
    const { storage, tamper } = await fresh();
    await saveCheckpoint(storage, makeCheckpoint(1), 3);
    await tamper(NAME(1), (b) => {
      const c = Buffer.from(b);
      c[c.length - 40] ^= 0xff;
      return c;
    });
    const load = () => loadLatestCheckpoint(storage, () => undefined);
    await expect(load()).rejects.toThrow(JclError);
    await expect(load()).rejects.toThrow(/all 1 checkpoints are corrupt/);
  });

  it('never loads a save interrupted before publishing: warns, loads the previous one, and the next save clears it', async () => {
    const { storage, interruptSave } = await fresh();
    await saveCheckpoint(storage, makeCheckpoint(1), 3);
    const partial = Buffer.from(makeCheckpoint(2).tensors.get('query/w')!.data.buffer);
    await interruptSave(NAME(2), partial);
    const warnings: string[] = [];
    const loaded = (await loadLatestCheckpoint(storage, (msg) => warnings.push(msg)))!;
    expect(loaded.ckpt.header.globalStep).toBe(1);
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings.every((w) => w.includes('unfinished checkpoint save') && w.includes(NAME(2)))).toBe(true);
    expect(await storage.list()).toEqual([NAME(1)]);
    await saveCheckpoint(storage, makeCheckpoint(3), 3);
    expect(await storage.leftovers()).toEqual([]);
    expect(await storage.list()).toEqual([NAME(3), NAME(1)]);
  });

  it('returns null for an empty storage (a fresh run)', async () => {
    const { storage } = await fresh();
    await storage.check(true);
    expect(await loadLatestCheckpoint(storage, () => undefined)).toBeNull();
  });
}
