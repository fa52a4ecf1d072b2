/**
 * A real S3-compatible server for the checkpoint-storage tests (issue 18): SeaweedFS (`weed server -s3`,
 * master + volume + filer + S3 gateway in one process) built by scripts/seaweedfs-build.sh, on free
 * loopback ports, with one identity whose keys the tests use and a data directory of its own.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { REPO_ROOT } from './control-plane.ts';
import { findFreePorts } from './free-port.ts';
import { ManagedProcess, tailFile } from './managed-process.ts';
import { pollUntil } from './wait.ts';

export interface SeaweedFs {
  /** http://127.0.0.1:<port> of the S3 gateway. */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The env a `jcl` process needs to reach the server with these keys. */
  env: Record<string, string>;
  /** An SDK client with the server's keys (path-style addressing). */
  client(): S3Client;
  createBucket(name: string): Promise<void>;
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

/** The `weed` binary; fails with the command to run when it was not built. */
export function resolveWeedBinary(): string {
  const bin =
    process.env.JCL_WEED_BIN ??
    execFileSync('bash', [path.join(REPO_ROOT, 'scripts', 'seaweedfs-build.sh'), '--print-bin'], {
      encoding: 'utf8',
    }).trim();
  if (!existsSync(bin)) throw new Error(`SeaweedFS missing at ${bin}; run scripts/seaweedfs-build.sh first`);
  return bin;
}

class ExitedError extends Error {}

/** Starts the server and waits until it stores objects; `stop()` removes all it stored. */
export async function startSeaweedFs(): Promise<SeaweedFs> {
  const weed = resolveWeedBinary();
  const root = mkdtempSync(path.join(tmpdir(), 'jcl-seaweedfs-'));
  const dataDir = path.join(root, 'data');
  mkdirSync(dataDir);
  const accessKeyId = 'jcltestaccess';
  const secretAccessKey = 'jcl-test-secret-key-0123456789';
  const s3Config = path.join(root, 's3.json');
  writeFileSync(
    s3Config,
    JSON.stringify({
      identities: [
        {
          name: 'jcl',
          credentials: [{ accessKey: accessKeyId, secretKey: secretAccessKey }],
          actions: ['Admin', 'Read', 'Write', 'List', 'Tagging'],
        },
      ],
    }),
  );
  const [master, masterGrpc, volume, volumeGrpc, filer, filerGrpc, s3, s3Grpc] = await findFreePorts(8);
  const proc = new ManagedProcess({
    name: 'seaweedfs',
    command: weed,
    args: [
      'server',
      `-dir=${dataDir}`,
      '-ip=127.0.0.1',
      '-ip.bind=127.0.0.1',
      `-master.port=${master}`,
      `-master.port.grpc=${masterGrpc}`,
      '-master.volumeSizeLimitMB=64',
      `-volume.port=${volume}`,
      `-volume.port.grpc=${volumeGrpc}`,
      '-volume.max=20',
      '-filer',
      `-filer.port=${filer}`,
      `-filer.port.grpc=${filerGrpc}`,
      '-s3',
      `-s3.port=${s3}`,
      `-s3.port.grpc=${s3Grpc}`,
      `-s3.config=${s3Config}`,
      // Off: the gateway's extra listeners (fixed default ports would collide between parallel runs).
      '-s3.port.iceberg=0',
      '-s3.port.lance=0',
      '-iam=false',
      '-volume.preStopSeconds=0',
    ],
    env: { ...process.env },
    cwd: root,
    stdoutFile: path.join(root, 'weed.log'),
  });
  const endpoint = `http://127.0.0.1:${s3}`;
  const client = () =>
    new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId, secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  const logTail = (lines = 30) => tailFile(proc.stdoutFile, lines);
  const stop = async () => {
    await proc.stop();
    rmSync(root, { recursive: true, force: true });
  };
  // Ready when a bucket can be created: the S3 gateway is up and the filer and a volume accept writes.
  const probe = client();
  try {
    await pollUntil(
      async () => {
        if (proc.exitInfo) throw new ExitedError(`weed exited (${proc.exitInfo.exitCode})`);
        await probe.send(new CreateBucketCommand({ Bucket: 'jcl-ready-probe' }));
        return true;
      },
      {
        timeoutMs: 120_000,
        intervalMs: 500,
        description: `the SeaweedFS S3 gateway at ${endpoint}`,
        fatal: (err) => err instanceof ExitedError,
      },
    );
  } catch (err) {
    await stop();
    throw new Error(`SeaweedFS did not start: ${(err as Error).message}\n${logTail()}`, { cause: err });
  }
  return {
    endpoint,
    accessKeyId,
    secretAccessKey,
    env: { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_REGION: 'us-east-1' },
    client,
    createBucket: async (name) => {
      await probe.send(new CreateBucketCommand({ Bucket: name }));
    },
    logTail,
    stop,
  };
}
