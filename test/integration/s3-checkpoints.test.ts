/**
 * Checkpoints in object storage against a real S3-compatible server (SeaweedFS, built from its Go
 * module by scripts/seaweedfs-build.sh), issue 18: the store's guarantees (the same contract as on disk),
 * multipart uploads, retries through a flaky network, start-up failures for bad credentials and a
 * missing bucket, and `jcl train --checkpoint-uri` / `jcl eval --checkpoint s3://...` as users run them.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { useSeaweedFs } from '../harness/use-seaweedfs.ts';
import { JclError } from '../../worker/src/util/errors.ts';
import { checkpointStoreContract, makeCheckpoint } from '../../worker/src/train/checkpoint-store-contract.ts';
import { loadLatestCheckpoint, saveCheckpoint } from '../../worker/src/train/checkpoint-store.ts';
import { S3CheckpointStorage } from '../../worker/src/train/s3-checkpoint-storage.ts';
import { runJcl, tinyTrainArgs } from './support/run-jcl.ts';
import { startS3Proxy } from './support/s3-proxy.ts';

const BUCKET = 'jcl-ckpt';
const weed = useSeaweedFs(BUCKET);
let n = 0;

const s3 = weed.s3;
const keys = () => ({ accessKeyId: weed.server.accessKeyId, secretAccessKey: weed.server.secretAccessKey });
const freshPrefix = () => `t${Date.now().toString(36)}-${n++}`;
const storageAt = weed.storage;

describe('checkpoint store on S3-compatible object storage (SeaweedFS)', () => {
  checkpointStoreContract(async () => {
    const prefix = freshPrefix();
    const client = weed.server.client();
    const put = (name: string, body: Buffer) =>
      client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}/${name}`, Body: body }));
    return {
      storage: storageAt(prefix),
      tamper: async (name, edit) => {
        const res = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: `${prefix}/${name}` }));
        await put(name, edit(Buffer.from(await res.Body!.transformToByteArray())));
      },
      // rank 0 killed mid-save: the object went up but its manifest never did, and a second attempt
      // died in the middle of a multipart upload.
      interruptSave: async (name, bytes) => {
        await put(name, bytes);
        const mpu = await client.send(
          new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: `${prefix}/${name}` }),
        );
        await client.send(
          new UploadPartCommand({
            Bucket: BUCKET,
            Key: `${prefix}/${name}`,
            UploadId: mpu.UploadId,
            PartNumber: 1,
            Body: Buffer.alloc(5 * 1024 * 1024, 7),
          }),
        );
      },
    };
  });

  it('uploads a checkpoint larger than a part in parts, and reads it back intact', async () => {
    const storage = storageAt(freshPrefix(), { partSizeMiB: 5 });
    const { ckpt, data } = bigCheckpoint(7, 12); // 12 MiB: three 5 MiB parts
    const where = await saveCheckpoint(storage, ckpt, 3);
    expect(await partsOf(where)).toBe(3);
    const loaded = (await loadLatestCheckpoint(storage, () => undefined))!;
    expect(sameBytes(loaded.ckpt.tensors.get('query/big')!.data, data)).toBe(true);
  });

  it('retries throttled and failed requests: saves and loads through a server answering every other request with 503', async () => {
    const proxy = await startFlakyProxy(new URL(weed.server.endpoint));
    try {
      const prefix = freshPrefix();
      const flaky = (maxAttempts: number) =>
        new S3CheckpointStorage(
          { bucket: BUCKET, prefix },
          s3({ endpoint: proxy.endpoint, maxAttempts }),
          'checkpoint.uri',
          keys(),
        );
      await saveCheckpoint(flaky(5), makeCheckpoint(3), 3);
      expect((await loadLatestCheckpoint(flaky(5), () => undefined))!.ckpt.header.globalStep).toBe(3);
      expect(proxy.failed()).toBeGreaterThan(3);
      // A checkpoint in parts through the same faults: parts, completion and read-back are retried too.
      const before = proxy.failed();
      const { ckpt, data } = bigCheckpoint(5, 6); // two 5 MiB parts
      const parted = new S3CheckpointStorage(
        { bucket: BUCKET, prefix },
        s3({ endpoint: proxy.endpoint, maxAttempts: 5, partSizeMiB: 5 }),
        'checkpoint.uri',
        keys(),
      );
      expect(await partsOf(await saveCheckpoint(parted, ckpt, 3))).toBe(2);
      const loaded = (await loadLatestCheckpoint(parted, () => undefined))!;
      expect(loaded.ckpt.header.globalStep).toBe(5);
      expect(sameBytes(loaded.ckpt.tensors.get('query/big')!.data, data)).toBe(true);
      expect(proxy.failed() - before).toBeGreaterThan(3);
      // Without retries the same faults fail the call, so the retries above are what made it work.
      await expect(saveCheckpoint(flaky(1), makeCheckpoint(4), 3)).rejects.toThrow(/HTTP 503/);
    } finally {
      await proxy.close();
    }
  });

  it.each([
    {
      what: 'wrong credentials',
      storage: () =>
        new S3CheckpointStorage({ bucket: BUCKET, prefix: 'x' }, s3(), 'checkpoint.uri', {
          accessKeyId: weed.server.accessKeyId,
          secretAccessKey: 'not-the-secret',
        }),
      code: 'unauthenticated',
      message:
        /checkpoint\.uri: http:\/\/127\.0\.0\.1:\d+ refused to list s3:\/\/jcl-ckpt\/x with these credentials; check AWS_ACCESS_KEY_ID/,
    },
    {
      what: 'an unknown access key',
      storage: () =>
        new S3CheckpointStorage({ bucket: BUCKET, prefix: 'x' }, s3(), 'checkpoint.uri', {
          accessKeyId: 'nobody',
          secretAccessKey: 'nothing',
        }),
      code: 'unauthenticated',
      message: /refused to list .* with these credentials/,
    },
    {
      what: 'a missing bucket',
      storage: () =>
        new S3CheckpointStorage({ bucket: 'no-such-bucket', prefix: 'x' }, s3(), 'checkpoint.uri', keys()),
      code: 'not_found',
      message:
        /checkpoint\.uri: the bucket of s3:\/\/no-such-bucket\/x does not exist at http:\/\/127\.0\.0\.1:\d+; create it or fix the URI/,
    },
  ])('fails its start-up check clearly on $what', async ({ storage, code, message }) => {
    const err = await storage()
      .check(true)
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(JclError);
    expect((err as JclError).code).toBe(code);
    expect((err as JclError).message).toMatch(message);
  });
});

describe('jcl with --checkpoint-uri', () => {
  it('trains to S3, resumes from it after a restart, and jcl eval reads it', () => {
    const uri = `s3://${BUCKET}/${freshPrefix()}/run`;
    const flags = ['--checkpoint-uri', uri, '--s3-endpoint', weed.server.endpoint, '--s3-path-style'];
    const out = mkdtempSync(join(tmpdir(), 'cli-s3-'));
    const first = runJcl(['train', ...tinyTrainArgs(1), ...flags, '--out', out], weed.server.env);
    expect(first.code, first.stderr).toBe(0);
    expect(existsSync(join(out, 'checkpoints'))).toBe(false); // nothing on local disk
    expect(first.stdout).toContain(`"checkpoint":"${uri}/ckpt-000000005.jclckpt"`); // JSON logs: stdout
    // A second run with one more epoch continues from the object store, not from scratch.
    const second = runJcl(['train', ...tinyTrainArgs(2), ...flags, '--out', out], weed.server.env);
    expect(second.code, second.stderr).toBe(0);
    const resumed = second.stdout.split('\n').find((l) => l.includes('resuming from checkpoint'));
    expect(JSON.parse(resumed ?? '{}')).toMatchObject({
      checkpoint: `${uri}/ckpt-000000005.jclckpt`,
      globalStep: 5,
    });
    expect(second.stdout).toContain(`"checkpoint":"${uri}/ckpt-000000010.jclckpt"`);

    const e = runJcl(
      ['eval', 'knn', '--checkpoint', uri, '--s3-endpoint', weed.server.endpoint, '--s3-path-style'],
      { ...weed.server.env, JCL_RUN_DIR: out },
    );
    expect(e.code, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout.trim().split('\n').pop()!)).toMatchObject({
      kind: 'knn',
      checkpoint: `${uri}/ckpt-000000010.jclckpt`,
    });
  });

  it.each<{ what: string; bucket: string; env: Record<string, string>; code: number; says: RegExp }>([
    {
      what: 'the credentials are wrong',
      bucket: BUCKET,
      env: { AWS_SECRET_ACCESS_KEY: 'wrong' },
      code: 77,
      says: /checkpoint\.uri: .* refused to list s3:\/\/jcl-ckpt\/.* with these credentials/,
    },
    {
      what: 'the bucket does not exist',
      bucket: 'no-such-bucket',
      env: {},
      code: 66,
      says: /checkpoint\.uri: the bucket of s3:\/\/no-such-bucket\/.* does not exist at .*; create it or fix the URI/,
    },
  ])('fails before the first step (exit $code) when $what', ({ bucket, env, code, says }) => {
    const uri = `s3://${bucket}/${freshPrefix()}`;
    const out = mkdtempSync(join(tmpdir(), 'cli-s3-'));
    const flags = ['--checkpoint-uri', uri, '--s3-endpoint', weed.server.endpoint, '--s3-path-style'];
    const r = runJcl(['train', ...tinyTrainArgs(1), ...flags, '--out', out], { ...weed.server.env, ...env });
    expect(r.code, r.stderr).toBe(code);
    expect(r.stderr).toMatch(says);
    expect(existsSync(join(out, 'metrics.jsonl'))).toBe(false);
  });
});

/** A checkpoint at `step` with an extra tensor of `mib` MiB of distinct values. */
function bigCheckpoint(step: number, mib: number) {
  const ckpt = makeCheckpoint(step);
  const data = new Float32Array((mib * 1024 * 1024) / 4);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i);
  ckpt.tensors.set('query/big', { shape: [data.length], data });
  return { ckpt, data };
}

/** Bit-for-bit equality (a toEqual over millions of elements takes minutes). */
function sameBytes(a: Float32Array, b: Float32Array): boolean {
  const bytes = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  return bytes(a).equals(bytes(b));
}

/** The part count of the object at an s3:// URI of the bucket: a multipart ETag ends in -<parts>. */
async function partsOf(uri: string): Promise<number> {
  const head = await weed.server
    .client()
    .send(new HeadObjectCommand({ Bucket: BUCKET, Key: uri.slice(`s3://${BUCKET}/`.length) }));
  return Number(/-(\d+)"?$/.exec(head.ETag ?? '')?.[1] ?? 1);
}

/** A proxy in front of the S3 gateway that answers every other request with 503 SlowDown. */
async function startFlakyProxy(target: URL) {
  let count = 0;
  let failed = 0;
  const proxy = await startS3Proxy(target, (req, res) => {
    if (count++ % 2 !== 0) return false;
    failed++;
    req.resume();
    res.writeHead(503, { 'content-type': 'application/xml' });
    res.end(
      '<?xml version="1.0"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
    );
    return true;
  });
  return { ...proxy, failed: () => failed };
}
