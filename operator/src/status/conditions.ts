/** metav1.Condition bookkeeping: lastTransitionTime moves only when the status value changes. */
import type { Condition, ConditionType } from '../api/status-schema.ts';

/** A new condition list with `type` set; other conditions are kept in their order. */
export function setCondition(
  conditions: readonly Condition[],
  type: ConditionType,
  status: Condition['status'],
  reason: string,
  message: string,
  nowIso: string,
): Condition[] {
  const prev = conditions.find((c) => c.type === type);
  if (!prev && status === 'False') return [...conditions];
  const next: Condition = {
    type,
    status,
    reason,
    message,
    lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : nowIso,
  };
  return prev ? conditions.map((c) => (c.type === type ? next : c)) : [...conditions, next];
}

/** Whether condition `type` is currently True. */
export function isTrue(conditions: readonly Condition[] | undefined, type: ConditionType): boolean {
  return conditions?.some((c) => c.type === type && c.status === 'True') ?? false;
}
