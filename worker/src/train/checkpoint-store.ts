/**
 * Saving and loading checkpoints over a CheckpointStorage (a directory or object storage): publish the
 * new one, keep the last N, clear what an interrupted writer left; load the newest intact one, falling
 * back to older ones with a warning when the newest is corrupt or truncated, and warning about (never
 * loading) unfinished saves.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { TrainingConfig } from '../config/schema.ts';
import { JclError } from '../util/errors.ts';
import { isS3Uri, parseS3Uri } from '../util/s3-uri.ts';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint } from './checkpoint-format.ts';
import { CHECKPOINT_NAME, checkpointName, type CheckpointStorage } from './checkpoint-storage.ts';
import { LocalCheckpointStorage } from './local-checkpoint-storage.ts';
import { S3CheckpointStorage, type S3Options } from './s3-checkpoint-storage.ts';

export type Warn = (msg: string, where: string) => void;

/** Publishes `ckpt`, prunes to `keepLast` and removes leftovers of interrupted saves; returns where it is. */
export async function saveCheckpoint(
  storage: CheckpointStorage,
  ckpt: Checkpoint,
  keepLast: number,
): Promise<string> {
  const where = await storage.publish(checkpointName(ckpt.header.globalStep), encodeCheckpoint(ckpt));
  for (const old of (await storage.list()).slice(keepLast)) await storage.remove(old);
  await storage.removeLeftovers();
  return where;
}

/**
 * The newest intact checkpoint of `storage` (or exactly `only`, when given), or null when there is none.
 * Corrupt newer ones are reported through `warn` and skipped; so are unfinished saves.
 */
export async function loadLatestCheckpoint(
  storage: CheckpointStorage,
  warn: Warn,
  only?: string,
): Promise<{ path: string; ckpt: Checkpoint } | null> {
  if (only !== undefined) {
    const path = storage.where(only);
    return { path, ckpt: decodeCheckpoint(await storage.read(only), path) };
  }
  for (const left of await storage.leftovers())
    warn(`skipping an unfinished checkpoint save (its writer stopped before publishing it): ${left}`, left);
  const candidates = await storage.list();
  for (const name of candidates) {
    const path = storage.where(name);
    try {
      return { path, ckpt: decodeCheckpoint(await storage.read(name), path) };
    } catch (err) {
      if (!(err instanceof JclError) || err.code !== 'checkpoint_corrupt') throw err;
      warn(`${err.message}; falling back to the previous checkpoint`, path);
    }
  }
  if (candidates.length > 0)
    throw new JclError(
      'checkpoint_corrupt',
      `${storage.location}: all ${candidates.length} checkpoints are corrupt; delete them to start afresh`,
    );
  return null;
}

/**
 * A checkpoint reference (directory, file, s3://bucket/prefix or s3://bucket/prefix/ckpt-N.jclckpt) as a
 * storage plus, for a single checkpoint, its name. `field` names the config field or flag in errors.
 */
export function openCheckpointRef(
  ref: string,
  s3: S3Options,
  field: string,
): { storage: CheckpointStorage; only?: string } {
  if (isS3Uri(ref)) {
    const loc = parseS3Uri(ref);
    if ('problem' in loc) throw new JclError('invalid_config', `${field}: ${loc.problem}`);
    const last = loc.prefix.split('/').at(-1) ?? '';
    if (CHECKPOINT_NAME.test(last)) {
      const prefix = loc.prefix.slice(0, Math.max(0, loc.prefix.length - last.length - 1));
      return { storage: new S3CheckpointStorage({ bucket: loc.bucket, prefix }, s3, field), only: last };
    }
    return { storage: new S3CheckpointStorage(loc, s3, field) };
  }
  if (ref.endsWith('.jclckpt') || (existsSync(ref) && statSync(ref).isFile()))
    return { storage: new LocalCheckpointStorage(dirname(ref)), only: basename(ref) };
  // A run directory holds its checkpoints in checkpoints/ (spec.checkpoints.resumeFrom names a run).
  const sub = join(ref, 'checkpoints');
  return { storage: new LocalCheckpointStorage(existsSync(sub) ? sub : ref) };
}

/** Where a run writes its checkpoints: checkpoint.uri, else <runDir>/checkpoints. */
export function openRunCheckpoints(cfg: TrainingConfig['checkpoint'], ckptDir: string): CheckpointStorage {
  return cfg.uri
    ? openCheckpointRef(cfg.uri, cfg.s3, 'checkpoint.uri').storage
    : new LocalCheckpointStorage(ckptDir);
}
