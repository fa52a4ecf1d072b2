/**
 * Checkpoints in S3-compatible object storage (AWS S3, GCS's S3 API, MinIO, Ceph RGW, SeaweedFS) with the
 * guarantees of the directory store (issue 18):
 *   1. the checkpoint object is uploaded (in parts of s3.partSizeMiB when larger, each request retried
 *      with backoff on throttling and transient errors, s3.maxAttempts);
 *   2. it is read back and its SHA-256 compared with the bytes that were meant to be stored;
 *   3. only then a small manifest (<name>.manifest.json: size + SHA-256) is put: a checkpoint exists for
 *      readers once its manifest does, so a writer killed before step 3 leaves an unpublished object (or
 *      an unfinished multipart upload) that leftovers() reports and removeLeftovers() deletes.
 * Reads check the object against its manifest; a mismatch is `checkpoint_corrupt` (the store falls back).
 * Credentials come from the SDK's default chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (the operator
 * fills them from a Secret), a web identity token (IRSA, GKE/EKS pod identity), or shared config. I/O edge.
 */
import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { TrainingConfig } from '../config/schema.ts';
import { JclError } from '../util/errors.ts';
import { formatS3Uri, joinS3Key, type S3Location } from '../util/s3-uri.ts';
import { CHECKPOINT_NAME, type CheckpointStorage } from './checkpoint-storage.ts';

const MANIFEST_SUFFIX = '.manifest.json';
const MANIFEST_FORMAT = 'jcl-checkpoint-manifest/1';
const MiB = 1024 * 1024;

export type S3Options = TrainingConfig['checkpoint']['s3'];

interface Manifest {
  format: typeof MANIFEST_FORMAT;
  object: string;
  bytes: number;
  sha256: string;
  createdAt: string;
}

export class S3CheckpointStorage implements CheckpointStorage {
  readonly location: string;
  private readonly client: S3Client;

  /** `credentials` overrides the default chain (tests); `field` names the config field in errors. */
  constructor(
    private readonly loc: S3Location,
    private readonly s3: S3Options,
    private readonly field = 'checkpoint.uri',
    credentials?: S3ClientConfig['credentials'],
  ) {
    this.location = formatS3Uri(loc);
    this.client = new S3Client({
      region: s3.region,
      ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
      forcePathStyle: s3.pathStyle,
      maxAttempts: s3.maxAttempts,
      retryMode: 'standard',
      // Our own SHA-256 (step 2) covers integrity; the SDK's newer default CRC32 trailers are not
      // understood by every S3-compatible server, so checksums are sent only where S3 requires them.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...(credentials ? { credentials } : {}),
    });
  }

  async check(write: boolean): Promise<void> {
    await this.call('list', () =>
      this.client.send(
        new ListObjectsV2Command({ Bucket: this.loc.bucket, Prefix: this.key('ckpt-'), MaxKeys: 1 }),
      ),
    );
    if (!write) return;
    const probe = this.key(`.jcl-write-check-${process.pid}`);
    await this.call('write', () =>
      this.client.send(new PutObjectCommand({ Bucket: this.loc.bucket, Key: probe, Body: 'ok' })),
    );
    await this.call('delete', () =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.loc.bucket, Key: probe })),
    );
  }

  async list(): Promise<string[]> {
    return (await this.objectNames())
      .filter((n) => n.endsWith(MANIFEST_SUFFIX))
      .map((n) => n.slice(0, -MANIFEST_SUFFIX.length))
      .filter((n) => CHECKPOINT_NAME.test(n))
      .sort()
      .reverse();
  }

  async read(name: string): Promise<Buffer> {
    const where = this.where(name);
    const corrupt = (why: string, cause?: unknown) =>
      new JclError('checkpoint_corrupt', `${where}: ${why}`, cause === undefined ? undefined : { cause });
    let manifest: Manifest;
    try {
      manifest = JSON.parse((await this.get(name + MANIFEST_SUFFIX)).toString('utf8')) as Manifest;
    } catch (cause) {
      if (cause instanceof JclError) throw cause;
      throw corrupt('unreadable manifest', cause);
    }
    if (manifest.format !== MANIFEST_FORMAT || manifest.object !== name)
      throw corrupt(`manifest is not a ${MANIFEST_FORMAT} for ${name}`);
    let bytes: Buffer;
    try {
      bytes = await this.get(name);
    } catch (cause) {
      if (cause instanceof JclError && cause.code === 'not_found')
        throw corrupt('the manifest is there but the checkpoint object is missing', cause);
      throw cause;
    }
    if (bytes.length !== manifest.bytes)
      throw corrupt(`${bytes.length} bytes stored, the manifest says ${manifest.bytes} (truncated)`);
    if (sha256(bytes) !== manifest.sha256) throw corrupt('checksum mismatch with its manifest');
    return bytes;
  }

  async publish(name: string, bytes: Buffer): Promise<string> {
    const Key = this.key(name);
    const partSize = this.s3.partSizeMiB * MiB;
    await this.call('write', () =>
      new Upload({
        client: this.client,
        params: { Bucket: this.loc.bucket, Key, Body: bytes },
        partSize,
        queueSize: 2,
        // A failed multipart upload is aborted, so its parts do not linger (and cost) in the bucket.
        leavePartsOnError: false,
      }).done(),
    );
    const want = sha256(bytes);
    const stored = await this.get(name);
    if (stored.length !== bytes.length || sha256(stored) !== want)
      throw new JclError(
        'checkpoint_corrupt',
        `${this.where(name)}: read back ${stored.length} bytes that do not match the ${bytes.length} uploaded; not published`,
      );
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      object: name,
      bytes: bytes.length,
      sha256: want,
      createdAt: new Date().toISOString(),
    };
    await this.call('write', () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.loc.bucket,
          Key: this.key(name + MANIFEST_SUFFIX),
          Body: JSON.stringify(manifest),
          ContentType: 'application/json',
        }),
      ),
    );
    return this.where(name);
  }

  async remove(name: string): Promise<void> {
    for (const key of [name + MANIFEST_SUFFIX, name]) await this.deleteObject(key);
  }

  async leftovers(): Promise<string[]> {
    const { orphans, uploads } = await this.unpublished();
    return [
      ...orphans.map((n) => `${this.where(n)} (uploaded but never published: no manifest)`),
      ...uploads.map((u) => `${formatS3Uri(this.loc, u.name)} (unfinished multipart upload ${u.id})`),
    ];
  }

  async removeLeftovers(): Promise<void> {
    const { orphans, uploads } = await this.unpublished();
    for (const n of orphans) await this.deleteObject(n);
    for (const u of uploads)
      await this.call('delete', () =>
        this.client.send(
          new AbortMultipartUploadCommand({ Bucket: this.loc.bucket, Key: this.key(u.name), UploadId: u.id }),
        ),
      );
  }

  where(name: string): string {
    return formatS3Uri(this.loc, name);
  }

  private key(name: string): string {
    return joinS3Key(this.loc, name);
  }

  /** Object names (relative to the prefix) starting with ckpt-, all pages. */
  private async objectNames(): Promise<string[]> {
    const names: string[] = [];
    const start = this.key('ckpt-');
    let token: string | undefined;
    do {
      const page = await this.call('list', () =>
        this.client.send(
          new ListObjectsV2Command({ Bucket: this.loc.bucket, Prefix: start, ContinuationToken: token }),
        ),
      );
      for (const o of page.Contents ?? []) {
        const rel = o.Key?.slice(start.length - 'ckpt-'.length) ?? '';
        if (!rel.includes('/')) names.push(rel);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return names;
  }

  private async unpublished(): Promise<{ orphans: string[]; uploads: { name: string; id: string }[] }> {
    const names = await this.objectNames();
    const published = new Set(names.filter((n) => n.endsWith(MANIFEST_SUFFIX)));
    const orphans = names.filter((n) => CHECKPOINT_NAME.test(n) && !published.has(n + MANIFEST_SUFFIX));
    const start = this.key('ckpt-');
    const res = await this.call('list', () =>
      this.client.send(new ListMultipartUploadsCommand({ Bucket: this.loc.bucket, Prefix: start })),
    );
    const uploads = (res.Uploads ?? [])
      .filter((u) => u.Key && u.UploadId)
      .map((u) => ({ name: u.Key!.slice(start.length - 'ckpt-'.length), id: u.UploadId! }));
    return { orphans, uploads };
  }

  private async get(name: string): Promise<Buffer> {
    const res = await this.call('read', () =>
      this.client.send(new GetObjectCommand({ Bucket: this.loc.bucket, Key: this.key(name) })),
    );
    if (!res.Body) throw new JclError('checkpoint_corrupt', `${this.where(name)}: empty response body`);
    return Buffer.from(await res.Body.transformToByteArray());
  }

  private async deleteObject(name: string): Promise<void> {
    await this.call('delete', () =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.loc.bucket, Key: this.key(name) })),
    );
  }

  /** Runs one S3 call; failures become a JclError that says what to fix. */
  private async call<T>(what: 'list' | 'read' | 'write' | 'delete', fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (cause) {
      throw explainS3Error(cause, what, this.location, this.s3.endpoint, this.field);
    }
  }
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * An SDK error as a JclError naming the field, the location and the likely fix. Missing buckets and
 * rejected credentials are permanent (a restart cannot fix them); unreachable servers are retryable.
 */
export function explainS3Error(
  cause: unknown,
  what: string,
  location: string,
  endpoint: string,
  field: string,
): JclError {
  const e = cause as {
    name?: string;
    message?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const name = e?.name ?? 'Error';
  const status = e?.$metadata?.httpStatusCode;
  const server = endpoint || 'AWS S3';
  const detail = `${name}${status ? ` (HTTP ${status})` : ''}: ${e?.message ?? String(cause)}`;
  if (name === 'NoSuchBucket')
    return new JclError(
      'not_found',
      `${field}: the bucket of ${location} does not exist at ${server}; create it or fix the URI (${detail})`,
      { cause },
    );
  if (name === 'NoSuchKey' || (status === 404 && what === 'read'))
    return new JclError('not_found', `${field}: ${location}: object not found (${detail})`, { cause });
  if (
    [
      'InvalidAccessKeyId',
      'SignatureDoesNotMatch',
      'AccessDenied',
      'CredentialsProviderError',
      'ExpiredToken',
    ].includes(name) ||
    status === 403 ||
    status === 401
  )
    return new JclError(
      'unauthenticated',
      `${field}: ${server} refused to ${what} ${location} with these credentials; check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the Secret of spec.checkpoints.s3.credentialsSecret) or the pod's web identity, and the bucket policy (${detail})`,
      { cause },
    );
  return new JclError(
    'internal',
    `${field}: could not ${what} ${location} at ${server} (${detail}); check s3.endpoint, s3.region and the network`,
    { cause },
  );
}
