/**
 * Where checkpoints live, behind one small interface so the checkpoint store (checkpoint-store.ts) keeps
 * the same guarantees on a local or mounted directory and on S3-compatible object storage (issue 18):
 * a checkpoint is visible only once complete and verified, and leftovers of a writer killed mid-save are
 * found, reported and removed, never loaded.
 */

/** A published checkpoint's name: ckpt-<global step, 9 digits>.jclckpt. */
export const CHECKPOINT_NAME = /^ckpt-(\d{9})\.jclckpt$/;

export function checkpointName(globalStep: number): string {
  return `ckpt-${String(globalStep).padStart(9, '0')}.jclckpt`;
}

export interface CheckpointStorage {
  /** The directory or s3://bucket/prefix, for logs and errors. */
  readonly location: string;
  /**
   * Fails fast, with what to fix, when the storage cannot be read, or written when `write` is set:
   * a missing bucket, rejected credentials or an unwritable directory surface at start, not at the first
   * save.
   */
  check(write: boolean): Promise<void>;
  /** Published checkpoint names, newest first. */
  list(): Promise<string[]>;
  /**
   * A published checkpoint's bytes; throws JclError('checkpoint_corrupt') when what was stored does not
   * match what was published (size or checksum), so the caller can fall back to an older one.
   */
  read(name: string): Promise<Buffer>;
  /** Stores `bytes` under `name` and publishes it last; returns where it is (path or URI). */
  publish(name: string, bytes: Buffer): Promise<string>;
  /** Unpublishes, then deletes. */
  remove(name: string): Promise<void>;
  /** Writes that never got published (a writer killed mid-save), described for a warning. */
  leftovers(): Promise<string[]>;
  /** Deletes what leftovers() lists. Only the single writer (rank 0) calls it. */
  removeLeftovers(): Promise<void>;
  /** The path or URI of `name`. */
  where(name: string): string;
}
