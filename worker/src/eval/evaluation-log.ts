/**
 * Where evaluation results go besides stdout and the termination log: one JSON line per evaluation
 * appended to <run dir>/evaluations.jsonl (read by `jcl report`). I/O edge.
 */
import { appendFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * The run directory of a `--checkpoint` argument: the directory itself, or for a checkpoint file the
 * directory holding its `checkpoints/` folder (the file's own directory when it sits elsewhere).
 */
export function runDirOfCheckpoint(arg: string, isFile: (p: string) => boolean = defaultIsFile): string {
  if (!isFile(arg)) return arg;
  const dir = dirname(arg);
  return basename(dir) === 'checkpoints' ? dirname(dir) : dir;
}

function defaultIsFile(p: string): boolean {
  return existsSync(p) && statSync(p).isFile();
}

/** Appends one result (with the time) to <runDir>/evaluations.jsonl; returns the file's path. */
export function appendEvaluation(runDir: string, result: Record<string, unknown>, now = new Date()): string {
  mkdirSync(runDir, { recursive: true });
  const path = join(runDir, 'evaluations.jsonl');
  appendFileSync(path, JSON.stringify({ time: now.toISOString(), ...result }) + '\n');
  return path;
}
