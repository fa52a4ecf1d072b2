/**
 * The linear-evaluation learning rate (docs/JCL.md "Linear evaluation protocol"): a constant lr
 * multiplied by `gamma` at each milestone epoch, as torch.optim.lr_scheduler.MultiStepLR
 * (paper: lr 30, x0.1 at epochs 60 and 80 of 100). Pure.
 */

export interface StepLrOptions {
  /** Base learning rate (paper: 30). */
  lr: number;
  /** Epochs (0-based count of finished epochs) at which the rate is multiplied by `gamma`. */
  milestones: readonly number[];
  /** Factor per milestone passed (paper: 0.1). */
  gamma: number;
}

/**
 * Learning rate for (0-based) `epoch`.
 * 1. MultiStepLR steps once per finished epoch, so epoch e uses lr * gamma^(milestones <= e).
 * 2. A milestone listed twice counts twice, as in PyTorch (it keeps a Counter of milestones).
 */
export function stepLrAt(epoch: number, o: StepLrOptions): number {
  const passed = o.milestones.filter((m) => m <= epoch).length;
  return o.lr * o.gamma ** passed;
}

/**
 * Parses "60,80" into [60, 80]; an empty string means no milestones. Errors name the flag and the
 * value, and milestones must be non-negative integers.
 */
export function parseMilestones(text: string, field = '--milestones'): number[] {
  if (text.trim() === '') return [];
  const parts = text.split(',').map((s) => s.trim());
  const bad = parts.filter((p) => !/^\d+$/.test(p));
  if (bad.length > 0)
    throw new RangeError(
      `${field}: expected comma-separated non-negative integers like 60,80, got ${JSON.stringify(text)}`,
    );
  return parts.map(Number).sort((a, b) => a - b);
}
