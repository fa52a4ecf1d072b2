/**
 * Pure schedules: learning rate and the lambda ramp. Epochs are fractional (epoch + step/stepsPerEpoch)
 * for the learning rate, integral for lambda (the reference code updates lambda once per epoch).
 */

/** lambda_t. 1. ramp: lambda * (epoch + 1) / epochs, as in the reference code (shared/docs/JCL.md). 2. constant. */
export function lambdaAt(
  epoch: number,
  opts: { lambda: number; epochs: number; schedule: 'ramp' | 'constant' },
): number {
  if (opts.schedule === 'constant') return opts.lambda;
  // 1. epoch is 0-based, so the last epoch reaches the full lambda.
  // 2. clamp: a resumed run past the planned epochs must not overshoot.
  return (opts.lambda * Math.min(epoch + 1, opts.epochs)) / opts.epochs;
}

/**
 * Learning rate at a fractional epoch.
 * 1. warm-up: linear from lr/warmupSteps-ish to lr over warmupEpochs (starts above 0 so step 0 learns).
 * 2. cosine: 0.5 * lr * (1 + cos(pi * progress)) over the remaining epochs, MoCo v2's schedule.
 * 3. constant: lr after warm-up.
 */
export function learningRateAt(
  epochFloat: number,
  opts: { lr: number; epochs: number; warmupEpochs: number; schedule: 'cosine' | 'constant' },
): number {
  const { lr, epochs, warmupEpochs } = opts;
  if (warmupEpochs > 0 && epochFloat < warmupEpochs) {
    return (lr * (epochFloat + 1e-3)) / (warmupEpochs + 1e-3);
  }
  if (opts.schedule === 'constant') return lr;
  const span = Math.max(epochs - warmupEpochs, 1e-9);
  const progress = Math.min(Math.max((epochFloat - warmupEpochs) / span, 0), 1);
  return 0.5 * lr * (1 + Math.cos(Math.PI * progress));
}
