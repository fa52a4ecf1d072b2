/**
 * Time to save and to load one checkpoint on a local directory (the reference) and on a real
 * S3-compatible server (SeaweedFS on loopback, test/harness/seaweedfs.ts), through the same checkpoint
 * store the trainer uses. Prints one JSON line per storage and the S3/local ratios (issue 18).
 *   npx tsx bench/storage/checkpoint-save.ts [MiB=32] [repeats=5]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSeaweedFs } from '../../test/harness/seaweedfs.ts';
import { makeCheckpoint } from '../../worker/src/train/checkpoint-store-contract.ts';
import { loadLatestCheckpoint, saveCheckpoint } from '../../worker/src/train/checkpoint-store.ts';
import type { CheckpointStorage } from '../../worker/src/train/checkpoint-storage.ts';
import { LocalCheckpointStorage } from '../../worker/src/train/local-checkpoint-storage.ts';
import { S3CheckpointStorage } from '../../worker/src/train/s3-checkpoint-storage.ts';

const mib = Number(process.argv[2] ?? 32);
const repeats = Number(process.argv[3] ?? 5);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(storage: CheckpointStorage): Promise<{ saveMs: number; loadMs: number }> {
  const saves: number[] = [];
  const loads: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const ckpt = makeCheckpoint(r + 1);
    const data = new Float32Array((mib * 1024 * 1024) / 4).fill(r);
    ckpt.tensors.set('query/big', { shape: [data.length], data });
    let t = performance.now();
    await saveCheckpoint(storage, ckpt, 2);
    saves.push(performance.now() - t);
    t = performance.now();
    await loadLatestCheckpoint(storage, () => undefined);
    loads.push(performance.now() - t);
  }
  return { saveMs: Math.round(median(saves)), loadMs: Math.round(median(loads)) };
}

const server = await startSeaweedFs();
const dir = mkdtempSync(join(tmpdir(), 'bench-ckpt-'));
try {
  await server.createBucket('bench');
  const local = await measure(new LocalCheckpointStorage(dir));
  const s3 = await measure(
    new S3CheckpointStorage(
      { bucket: 'bench', prefix: 'run' },
      { endpoint: server.endpoint, region: 'us-east-1', pathStyle: true, partSizeMiB: 16, maxAttempts: 5 },
      'checkpoint.uri',
      { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    ),
  );
  console.log(JSON.stringify({ storage: 'local', mib, repeats, ...local }));
  console.log(JSON.stringify({ storage: 's3-seaweedfs', mib, repeats, ...s3 }));
  console.log(
    JSON.stringify({
      saveRatio: Number((s3.saveMs / local.saveMs).toFixed(1)),
      loadRatio: Number((s3.loadMs / local.loadMs).toFixed(1)),
    }),
  );
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
