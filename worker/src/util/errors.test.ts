import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  classifyExitCode,
  EXIT_CODE_CLASSES,
  EXIT_CODES,
  describeError,
  JclError,
  PERMANENT_EXIT_CODES,
  type JclErrorCode,
} from './errors.ts';

describe('exit code classification (what the operator does with a failed worker)', () => {
  // Issue 19: a model mismatch on resume (64) and all-corrupt checkpoints (74) used to be retried
  // until the backoff limit.
  it.each([
    ['invalid_config', 'permanent'],
    ['resume_mismatch', 'permanent'],
    ['invalid_data', 'permanent'],
    ['not_found', 'permanent'],
    ['numerics_mismatch', 'permanent'],
    ['checkpoint_corrupt', 'permanent'],
    ['unauthenticated', 'permanent'],
    ['peer_lost', 'retryable'],
    ['deadline_exceeded', 'retryable'],
    ['queue_diverged', 'retryable'],
    ['internal', 'retryable'],
  ] as const)('%s exits with a %s code', (code: JclErrorCode, want) => {
    expect(classifyExitCode(EXIT_CODES[code])).toBe(want);
    expect(PERMANENT_EXIT_CODES.has(EXIT_CODES[code])).toBe(want === 'permanent');
  });

  it('classifies every code a JclError can exit with, on purpose (no code falls to the default)', () => {
    const unclassified = Object.values(EXIT_CODES).filter((c) => EXIT_CODE_CLASSES[c] === undefined);
    expect(unclassified).toEqual([]);
  });

  it('retries kills and terminations by the node, and codes nobody named', () => {
    expect([137, 143, 2, 255].map(classifyExitCode)).toEqual([
      'retryable',
      'retryable',
      'retryable',
      'retryable',
    ]);
  });

  it('is the table docs/ARCHITECTURE.md shows', () => {
    const doc = readFileSync(
      fileURLToPath(new URL('../../../docs/ARCHITECTURE.md', import.meta.url)),
      'utf8',
    );
    const rows = [...doc.matchAll(/^\| (\d+) \| (permanent|retryable) \| (.+) \|$/gm)].map((m) => [
      Number(m[1]),
      m[2],
      m[3],
    ]);
    expect(rows).toEqual(Object.entries(EXIT_CODE_CLASSES).map(([c, v]) => [Number(c), v.class, v.meaning]));
  });
});

describe('describeError', () => {
  // Issue 19: some errors printed their cause twice ("...: caused by: ...").
  it('chains causes once, leaving out a cause the message already quotes', () => {
    const io = new Error('ENOENT: no such file');
    expect(describeError(new JclError('not_found', 'x: read failed', { cause: io }))).toBe(
      'x: read failed: caused by: ENOENT: no such file',
    );
    expect(describeError(new JclError('not_found', `x: ${io.message}`, { cause: io }))).toBe(
      'x: ENOENT: no such file',
    );
  });
});
