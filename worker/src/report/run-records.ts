/**
 * What `jcl report` reads from a run directory, as plain data: metrics.jsonl (lines of type 'step'
 * and 'knn'), evaluations.jsonl, summary.json and features.json. Reading is an I/O edge
 * ({@link readRunRecords}); parsing the text is pure ({@link parseJsonLines}).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface StepRecord {
  globalStep: number;
  epoch: number;
  loss: number;
  lossCls: number;
  lossJcl: number;
  contrastAcc: number;
  lr: number;
  lambda: number;
  imagesPerSec: number;
}

export interface KnnRecord {
  epoch: number;
  top1: number;
  top5: number;
  k?: number;
}

export interface RunRecords {
  runDir: string;
  steps: StepRecord[];
  knn: KnnRecord[];
  evaluations: Record<string, unknown>[];
  summary: Record<string, unknown> | null;
  features: Record<string, unknown> | null;
  /** Lines that were not JSON objects (a run killed mid-write leaves a torn last line). */
  skippedLines: number;
}

/** JSON objects of a JSON-lines text; blank and unparsable lines are counted, not fatal. */
export function parseJsonLines(text: string): { records: Record<string, unknown>[]; skipped: number } {
  const records: Record<string, unknown>[] = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const v: unknown = JSON.parse(line);
      if (v && typeof v === 'object' && !Array.isArray(v)) records.push(v as Record<string, unknown>);
      else skipped++;
    } catch {
      skipped++;
    }
  }
  return { records, skipped };
}

/** Splits metrics.jsonl records into steps and k-NN evaluations, in file order. */
export function splitMetrics(records: Record<string, unknown>[]): { steps: StepRecord[]; knn: KnnRecord[] } {
  return {
    steps: records.filter((r) => r.type === 'step') as unknown as StepRecord[],
    knn: records.filter((r) => r.type === 'knn') as unknown as KnnRecord[],
  };
}

function readText(path: string): string | null {
  return existsSync(path) ? readFileSync(path, 'utf8') : null;
}

function readJson(path: string): Record<string, unknown> | null {
  const text = readText(path);
  if (text === null) return null;
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (cause) {
    throw new Error(`${path}: not valid JSON`, { cause });
  }
}

/** Reads whatever of the four files exists in `runDir`. */
export function readRunRecords(runDir: string): RunRecords {
  const metrics = parseJsonLines(readText(join(runDir, 'metrics.jsonl')) ?? '');
  const evals = parseJsonLines(readText(join(runDir, 'evaluations.jsonl')) ?? '');
  return {
    runDir,
    ...splitMetrics(metrics.records),
    evaluations: evals.records,
    summary: readJson(join(runDir, 'summary.json')),
    features: readJson(join(runDir, 'features.json')),
    skippedLines: metrics.skipped + evals.skipped,
  };
}
