/**
 * s3://bucket/prefix references, parsed once (pure). A checkpoint location is a prefix; a reference to
 * one checkpoint ends in its object name (ckpt-000000042.jclckpt).
 */

export interface S3Location {
  bucket: string;
  /** Key prefix without leading or trailing slashes ("" = the bucket's root). */
  prefix: string;
}

// S3 bucket naming rules (docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html), the
// dotted and underscore forms some S3-compatible servers also accept included.
const BUCKET = /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/;

/** True for anything that means object storage (so a path is never taken for a URI or vice versa). */
export function isS3Uri(ref: string): boolean {
  return ref.startsWith('s3://');
}

/** The bucket and prefix of `uri`, or a message saying what is wrong (for the caller's field path). */
export function parseS3Uri(uri: string): S3Location | { problem: string } {
  if (!isS3Uri(uri)) return { problem: `expected s3://bucket[/prefix], got ${JSON.stringify(uri)}` };
  const rest = uri.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = slash < 0 ? '' : rest.slice(slash + 1).replace(/^\/+|\/+$/g, '');
  if (!BUCKET.test(bucket))
    return {
      problem: `bucket name must be 3-63 lowercase letters, digits, '.', '_' or '-', got ${JSON.stringify(bucket)} in ${JSON.stringify(uri)}`,
    };
  if (prefix !== '' && prefix.split('/').some((part) => part === '' || part === '.' || part === '..'))
    return { problem: `prefix must not contain empty, '.' or '..' segments, got ${JSON.stringify(uri)}` };
  return { bucket, prefix };
}

/** s3://bucket/prefix/name, or s3://bucket/name for the root. */
export function joinS3Key(loc: S3Location, name: string): string {
  return loc.prefix === '' ? name : `${loc.prefix}/${name}`;
}

/** The URI of a location (normalised: no trailing slash). */
export function formatS3Uri(loc: S3Location, name?: string): string {
  const key = name === undefined ? loc.prefix : joinS3Key(loc, name);
  return key === '' ? `s3://${loc.bucket}` : `s3://${loc.bucket}/${key}`;
}
