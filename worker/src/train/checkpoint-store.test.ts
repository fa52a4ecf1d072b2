import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpointStoreContract } from './checkpoint-store-contract.ts';
import { openCheckpointRef } from './checkpoint-store.ts';
import { LocalCheckpointStorage } from './local-checkpoint-storage.ts';
import { S3CheckpointStorage } from './s3-checkpoint-storage.ts';

const S3 = { endpoint: '', region: 'us-east-1', pathStyle: false, partSizeMiB: 16, maxAttempts: 5 };

describe('checkpoint store on a directory', () => {
  checkpointStoreContract(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
    return {
      storage: new LocalCheckpointStorage(dir),
      tamper: async (name, edit) => writeFileSync(join(dir, name), edit(readFileSync(join(dir, name)))),
      // A writer killed before the rename leaves its temp file.
      interruptSave: async (name, bytes) => writeFileSync(join(dir, `${name}.tmp-4242`), bytes),
    };
  });

  it('fails its start-up check, naming the directory, when it cannot write there', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'ckpt-ro-'));
    const dir = join(parent, 'ro');
    mkdirSync(dir);
    chmodSync(dir, 0o500);
    const storage = new LocalCheckpointStorage(dir);
    // root ignores permission bits; the check must still pass then, and fail for everyone else.
    if (process.getuid?.() === 0) await expect(storage.check(true)).resolves.toBeUndefined();
    else await expect(storage.check(true)).rejects.toThrow(`checkpoint directory ${dir}: not writable`);
  });
});

describe('openCheckpointRef', () => {
  const run = mkdtempSync(join(tmpdir(), 'run-'));
  mkdirSync(join(run, 'checkpoints'));
  it.each([
    { ref: 's3://bucket/runs/a', kind: S3CheckpointStorage, location: 's3://bucket/runs/a', only: undefined },
    {
      ref: 's3://bucket/runs/a/ckpt-000000042.jclckpt',
      kind: S3CheckpointStorage,
      location: 's3://bucket/runs/a',
      only: 'ckpt-000000042.jclckpt',
    },
    { ref: 's3://bucket', kind: S3CheckpointStorage, location: 's3://bucket', only: undefined },
    {
      ref: '/x/ckpt-000000001.jclckpt',
      kind: LocalCheckpointStorage,
      location: '/x',
      only: 'ckpt-000000001.jclckpt',
    },
    { ref: run, kind: LocalCheckpointStorage, location: join(run, 'checkpoints'), only: undefined },
  ])('$ref', ({ ref, kind, location, only }) => {
    const got = openCheckpointRef(ref, S3, 'checkpoint.resumeFrom');
    expect(got.storage).toBeInstanceOf(kind);
    expect([got.storage.location, got.only]).toEqual([location, only]);
  });

  it('names the field and the value of a malformed URI', () => {
    expect(() => openCheckpointRef('s3://B!/x', S3, 'checkpoint.resumeFrom')).toThrow(
      'checkpoint.resumeFrom: bucket name must be 3-63 lowercase letters, digits',
    );
  });
});
