import { describe, expect, it } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import {
  ADMISSION_GATE,
  decideAdmissions,
  GROUP_LABEL,
  QUEUE_LABEL,
  TOTAL_ANNOTATION,
} from './pod-group-admitter.ts';

/** A pod of group `group` (total members `total`) asking `gpus` GPUs, created at second `t`. */
const member = (
  group: string,
  i: number,
  o: { total?: number; gpus?: number; t?: number; gated?: boolean; phase?: string; queue?: string } = {},
): V1Pod => ({
  metadata: {
    name: `${group}-${i}`,
    namespace: 'ns',
    creationTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, o.t ?? 0)),
    labels: { [GROUP_LABEL]: group, [QUEUE_LABEL]: o.queue ?? 'lq' },
    annotations: { [TOTAL_ANNOTATION]: String(o.total ?? 2) },
  },
  spec: {
    containers: [{ name: 'w', resources: { limits: { 'nvidia.com/gpu': String(o.gpus ?? 1) } } }],
    schedulingGates: o.gated === false ? [] : [{ name: ADMISSION_GATE }],
  },
  status: { phase: o.phase ?? 'Pending' },
});
const QUOTA = { 'nvidia.com/gpu': 6 };

describe('decideAdmissions (the Kueue pod-group contract)', () => {
  it.each([
    { name: 'a complete group that fits', pods: [member('a', 0), member('a', 1)], want: ['ns/a'] },
    { name: 'an incomplete group waits for all its pods', pods: [member('a', 0)], want: [] },
    {
      name: 'a group over quota is admitted nothing (8 GPUs > 6)',
      pods: Array.from({ length: 8 }, (_, i) => member('big', i, { total: 8 })),
      want: [],
    },
    {
      name: 'two groups of 4: the older one only',
      pods: [
        ...Array.from({ length: 4 }, (_, i) => member('second', i, { total: 4, t: 5 })),
        ...Array.from({ length: 4 }, (_, i) => member('first', i, { total: 4, t: 1 })),
      ],
      want: ['ns/first'],
    },
    {
      name: 'admitted running pods hold quota; finished ones free it',
      pods: [
        ...Array.from({ length: 4 }, (_, i) =>
          member('first', i, { total: 4, gated: false, phase: 'Running' }),
        ),
        ...Array.from({ length: 4 }, (_, i) => member('second', i, { total: 4, t: 5 })),
      ],
      want: [],
    },
    {
      name: 'after the first group succeeded the second is admitted',
      pods: [
        ...Array.from({ length: 4 }, (_, i) =>
          member('first', i, { total: 4, gated: false, phase: 'Succeeded' }),
        ),
        ...Array.from({ length: 4 }, (_, i) => member('second', i, { total: 4, t: 5 })),
      ],
      want: ['ns/second'],
    },
    {
      name: 'a partly lifted group is finished without a new quota check',
      pods: [member('a', 0, { gated: false, gpus: 6 }), member('a', 1, { gpus: 6 })],
      want: ['ns/a'],
    },
    {
      name: 'another queue is not ours',
      pods: [member('a', 0, { queue: 'x' }), member('a', 1, { queue: 'x' })],
      want: [],
    },
  ])('$name', ({ pods, want }) => {
    expect(decideAdmissions(pods, QUOTA, 'lq')).toEqual(want);
  });
});
