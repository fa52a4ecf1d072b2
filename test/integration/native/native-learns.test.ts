/**
 * Training demonstrably learns on the native TensorFlow backend (issue 14): the demo run of
 * training-learns.test.ts (support/demo-learns.ts), with the same margin, on tfjs-node.
 */
import { beforeAll, expect, it } from 'vitest';
import { demoKnnBeforeAfter, LEARNS_MARGIN } from '../support/demo-learns.ts';
import { describeNative, tf, useNativeBackend } from './native-backend.ts';

describeNative('JCL training on the native backend', () => {
  beforeAll(useNativeBackend);

  it(`beats the randomly initialised backbone on k-NN top-1 by at least ${LEARNS_MARGIN * 100} points`, async () => {
    const { before, after } = await demoKnnBeforeAfter('tensorflow');
    expect(tf.getBackend()).toBe('tensorflow');
    expect(after.testSize).toBe(before.testSize);
    expect(after.top1).toBeGreaterThanOrEqual(before.top1 + LEARNS_MARGIN);
  }, 600_000); // the 15-epoch demo took ~9 min on tfjs-node at a load of 20 on 2 cores (this session)
});
