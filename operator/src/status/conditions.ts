/** metav1.Condition bookkeeping: lastTransitionTime moves only when the status value changes. */
import type { Condition, ConditionType, JobStatus, Phase } from '../api/status-schema.ts';

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

/** The condition set that mirrors the phase (Running/Restarting/Suspended are exclusive, terminal ones stick). */
export function phaseConditions(
  conditions: JobStatus['conditions'] & object,
  prevPhase: Phase | undefined,
  phase: Phase,
  reason: string,
  message: string,
  nowIso: string,
) {
  let c = conditions;
  const set = (type: ConditionType, on: boolean, r: string, m: string) =>
    (c = setCondition(c, type, on ? 'True' : 'False', r, m, nowIso));
  for (const type of ['Running', 'Restarting', 'Suspended'] as const) {
    if (type === phase) set(type, true, reason, message);
    else if (c.some((x) => x.type === type && x.status === 'True'))
      set(type, false, reason || phase, `phase is ${phase}`);
  }
  if (phase === 'Succeeded' || phase === 'Failed') set(phase, true, reason, message);
  if (prevPhase === 'Suspended' && phase !== 'Suspended') set('Suspended', false, 'JobResumed', 'resumed');
  return c;
}
