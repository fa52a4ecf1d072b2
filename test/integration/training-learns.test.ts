/** Training demonstrably learns on the wasm path (issue 2; support/demo-learns.ts says how it is judged). */
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../worker/src/backend/select-backend.ts';
import { demoKnnBeforeAfter, LEARNS_MARGIN } from './support/demo-learns.ts';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('JCL training on the synthetic dataset', () => {
  it(`beats the randomly initialised backbone on k-NN top-1 by at least ${LEARNS_MARGIN * 100} points`, async () => {
    const { before, after } = await demoKnnBeforeAfter('wasm');
    expect(after.testSize).toBe(before.testSize);
    expect(after.top1).toBeGreaterThanOrEqual(before.top1 + LEARNS_MARGIN);
  });
});
