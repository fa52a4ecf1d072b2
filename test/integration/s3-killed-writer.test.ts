/**
 * A rank 0 killed in the middle of a save to object storage (issue 18), for real: `jcl train
 * --checkpoint-uri` runs against SeaweedFS through a proxy that holds the request publishing the second
 * checkpoint's manifest, and the process is SIGKILLed while it waits. The bucket then holds an object that
 * was never published; the next run warns about it, resumes from the previous checkpoint, and its next save
 * removes the leftover.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useSeaweedFs } from '../harness/use-seaweedfs.ts';
import { runJcl, tinyTrainArgs } from './support/run-jcl.ts';
import { startS3Proxy } from './support/s3-proxy.ts';

const BUCKET = 'jcl-killed';
const JCL = new URL('../../bin/jcl.js', import.meta.url).pathname;
const weed = useSeaweedFs(BUCKET);

describe('a writer killed in the middle of an S3 checkpoint save', () => {
  it('leaves an unpublished object that the next run skips with a warning, resumes before, and clears', async () => {
    const prefix = `killed-${Date.now().toString(36)}`;
    const uri = `s3://${BUCKET}/${prefix}`;
    const server = weed.server;
    // Never answers the PUT publishing the second checkpoint (step 10 of 2 epochs x 5 steps).
    let held: () => void = () => undefined;
    const reached = new Promise<void>((resolve) => (held = resolve));
    const proxy = await startS3Proxy(new URL(server.endpoint), (req) => {
      const hold =
        req.method === 'PUT' &&
        (req.url ?? '').split('?')[0].endsWith('ckpt-000000010.jclckpt.manifest.json');
      if (hold) held();
      return hold;
    });
    const out = mkdtempSync(join(tmpdir(), 'killed-'));
    const s3Flags = (endpoint: string) => [
      '--checkpoint-uri',
      uri,
      '--s3-endpoint',
      endpoint,
      '--s3-path-style',
    ];
    const child = spawn(
      process.execPath,
      [JCL, 'train', ...tinyTrainArgs(2), ...s3Flags(proxy.endpoint), '--out', out],
      { env: { ...process.env, JCL_LOG_FORMAT: 'json', ...server.env }, stdio: 'ignore' },
    );
    try {
      const exited = once(child, 'exit');
      // Killed while its second checkpoint is uploaded but not yet published.
      await Promise.race([
        reached,
        exited.then(() => {
          throw new Error('jcl train exited before publishing its second checkpoint');
        }),
      ]);
      child.kill('SIGKILL');
      await exited;
    } finally {
      child.kill('SIGKILL');
      await proxy.close();
    }

    const storage = weed.storage(prefix);
    expect(await storage.list()).toEqual(['ckpt-000000005.jclckpt']);
    expect(await storage.leftovers()).toEqual([
      `${uri}/ckpt-000000010.jclckpt (uploaded but never published: no manifest)`,
    ]);

    const again = runJcl(
      ['train', ...tinyTrainArgs(2), ...s3Flags(server.endpoint), '--out', out],
      server.env,
    );
    expect(again.code, again.stderr).toBe(0);
    const logs = again.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    expect(
      logs.find((l) => String(l.msg).startsWith('skipping an unfinished checkpoint save')),
    ).toMatchObject({
      where: `${uri}/ckpt-000000010.jclckpt (uploaded but never published: no manifest)`,
    });
    expect(logs.find((l) => l.msg === 'resuming from checkpoint')).toMatchObject({
      checkpoint: `${uri}/ckpt-000000005.jclckpt`,
      globalStep: 5,
    });
    expect(await storage.list()).toEqual(['ckpt-000000010.jclckpt', 'ckpt-000000005.jclckpt']);
    expect(await storage.leftovers()).toEqual([]);
  }, 300_000);
});
