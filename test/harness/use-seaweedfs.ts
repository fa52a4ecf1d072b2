/**
 * One SeaweedFS server per test file (beforeAll/afterAll) with `bucket` created, and the checkpoint
 * storage of a prefix in it as rank 0 would open it (the server's keys, path-style addressing).
 */
import { afterAll, beforeAll } from 'vitest';
import { S3CheckpointStorage, type S3Options } from '../../worker/src/train/s3-checkpoint-storage.ts';
import { startSeaweedFs, type SeaweedFs } from './seaweedfs.ts';

export interface SeaweedFsFixture {
  /** The running server (inside tests and hooks after this file's beforeAll). */
  readonly server: SeaweedFs;
  /** S3 options for the server (endpoint, path-style), with `o` on top. */
  s3(o?: Partial<S3Options>): S3Options;
  /** s3://<bucket>/<prefix> as a CheckpointStorage with the server's keys. */
  storage(prefix: string, o?: Partial<S3Options>): S3CheckpointStorage;
}

export function useSeaweedFs(bucket: string): SeaweedFsFixture {
  let server: SeaweedFs | undefined;
  beforeAll(async () => {
    server = await startSeaweedFs();
    await server.createBucket(bucket);
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
  });
  const fixture: SeaweedFsFixture = {
    get server() {
      if (!server) throw new Error('useSeaweedFs: the server is read before beforeAll started it');
      return server;
    },
    s3: (o = {}) => ({
      endpoint: fixture.server.endpoint,
      region: 'us-east-1',
      pathStyle: true,
      partSizeMiB: 16,
      maxAttempts: 5,
      ...o,
    }),
    storage: (prefix, o = {}) =>
      new S3CheckpointStorage({ bucket, prefix }, fixture.s3(o), 'checkpoint.uri', {
        accessKeyId: fixture.server.accessKeyId,
        secretAccessKey: fixture.server.secretAccessKey,
      }),
  };
  return fixture;
}
