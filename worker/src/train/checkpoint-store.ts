/**
 * Checkpoint files in a run directory: atomic writes (temp file, fsync, rename, fsync dir), keep the
 * last N, and load the newest intact one, falling back to older ones with a warning when the newest
 * is corrupt or truncated.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { JclError } from '../util/errors.ts';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint } from './checkpoint-format.ts';

const PATTERN = /^ckpt-(\d{9})\.jclckpt$/;

export function checkpointName(globalStep: number): string {
  return `ckpt-${String(globalStep).padStart(9, '0')}.jclckpt`;
}

/** Writes atomically and prunes to `keepLast`; returns the path. */
export function saveCheckpoint(dir: string, ckpt: Checkpoint, keepLast: number): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, checkpointName(ckpt.header.globalStep));
  const tmp = `${path}.tmp-${process.pid}`;
  const bytes = encodeCheckpoint(ckpt);
  const fd = openSync(tmp, 'w');
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
  for (const old of listCheckpoints(dir).slice(keepLast)) unlinkSync(old);
  return path;
}

/** Checkpoint paths in `dir`, newest first. */
export function listCheckpoints(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => PATTERN.test(f))
    .sort()
    .reverse()
    .map((f) => join(dir, f));
}

/**
 * Loads `from` (a file, or a directory's newest intact checkpoint). Returns null when a directory has
 * none. Corrupt newer files are reported through `warn` and skipped.
 */
export function loadLatestCheckpoint(
  from: string,
  warn: (msg: string, path: string) => void,
): { path: string; ckpt: Checkpoint } | null {
  if (existsSync(from) && statSync(from).isFile())
    return { path: from, ckpt: decodeCheckpoint(readFileSync(from), from) };
  const candidates = listCheckpoints(from);
  for (const path of candidates) {
    try {
      return { path, ckpt: decodeCheckpoint(readFileSync(path), path) };
    } catch (err) {
      if (!(err instanceof JclError) || err.code !== 'checkpoint_corrupt') throw err;
      warn(`${err.message}; falling back to the previous checkpoint`, path);
    }
  }
  if (candidates.length > 0)
    throw new JclError(
      'checkpoint_corrupt',
      `${from}: all ${candidates.length} checkpoints are corrupt; delete them to start afresh`,
    );
  return null;
}
