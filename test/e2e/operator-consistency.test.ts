/**
 * Status that agrees with itself and with what the workers did, on the real plane (node harness,
 * restricted namespace, the operator under its least-privilege ServiceAccount), issue 20:
 *  - a fault rank 0 reports about a peer (every pod still running) restarts the gang blaming that peer;
 *  - after suspend and resume, lastCheckpoint is the checkpoint the new gang restored, though its steps
 *    are behind the ones shown;
 *  - every status the apiserver stored (watched, not sampled) has a READY that fits its PHASE.
 * Rank 0 is test/e2e/support/status-stepper.mjs: the real Status gRPC endpoint with scripted progress.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Watch } from '@kubernetes/client-node';
import { REPO_ROOT } from '../harness/control-plane.ts';
import { GROUP, PLURAL, VERSION } from '../../operator/src/api/constants.ts';
import type { JCLTrainingJob } from '../../operator/src/api/status-schema.ts';
import { fakeSpec } from './support/fake-worker.ts';
import { useOperatorEnvironment } from './support/operator-env.ts';

const env = useOperatorEnvironment('jcl-consistent', ['--poll-interval-ms', '500']);
const { waitFor, eventsOf } = env;
const stepper = (knobs: Record<string, string>) => {
  const spec = fakeSpec({ checkpoints: { claimName: 'ckpt' } }, knobs);
  spec.template.command = ['node', path.join(REPO_ROOT, 'test/e2e/support/status-stepper.mjs')];
  return spec;
};

/** Every (job, phase, ready) the watch delivered, in order. */
const seen: { job: string; phase: string; ready: string }[] = [];
let stopWatch: (() => void) | undefined;

beforeAll(async () => {
  const controller = await new Watch(env.plane.kubeConfig).watch(
    `/apis/${GROUP}/${VERSION}/namespaces/${env.ns}/${PLURAL}`,
    {},
    (_type: string, job: JCLTrainingJob) => {
      if (job.status?.phase)
        seen.push({ job: job.metadata?.name ?? '', phase: job.status.phase, ready: job.status.ready ?? '' });
    },
    () => undefined,
  );
  stopWatch = () => controller.abort();
});
afterAll(() => stopWatch?.());

describe('status that agrees with itself', () => {
  it('a fault rank 0 reports about a peer restarts the gang and blames that peer by rank and pod', async () => {
    await env.jobs.create('peer', stepper({ FAKE_STEP_MS: '50', FAKE_FAULT_AT_STEP: '30' }));
    const restarted = await waitFor(
      'peer',
      'restarted and running again',
      (j) => j.status?.restarts === 1 && j.status.phase === 'Running' && j.status.ready === '2/2',
    );
    expect(restarted.status?.restartGeneration).toBe(1);
    const restarts = (await eventsOf('peer')).filter((e) => e.reason === 'GangRestart').map((e) => e.message);
    expect(restarts).toEqual([
      expect.stringMatching(
        /^worker rank 1 \(pod peer-worker-1\) was lost: rank 0 reported peer_lost: lost rank 1 \(peer rank 1\); restarting all 2 workers \(restart 1 of 3\)$/,
      ),
    ]);
  });

  it('after suspend and resume, lastCheckpoint is the one the new gang restored, though its steps are behind', async () => {
    await env.jobs.create(
      'pause',
      stepper({ FAKE_STEP_MS: '20', FAKE_STOP_STEP: '120', FAKE_RESUME_STEP: '110' }),
    );
    const before = await waitFor('pause', 'at step 120', (j) => j.status?.progress?.step === 120);
    expect(before.status?.progress?.lastCheckpoint).toBe('/checkpoints/job/ckpt-00000100.jclckpt');
    await env.jobs.patchSpec('pause', { runPolicy: { suspend: true } });
    await waitFor('pause', 'Suspended', (j) => j.status?.phase === 'Suspended');
    await env.jobs.patchSpec('pause', { runPolicy: { suspend: false } });
    const resumed = await waitFor(
      'pause',
      'resumed, showing the restored checkpoint',
      (j) =>
        j.status?.phase === 'Running' &&
        j.status.progress?.lastCheckpoint === '/checkpoints/job/ckpt-00000110.jclckpt',
    );
    expect(resumed.status?.restartGeneration).toBe(1);
    expect(resumed.status?.progress?.step).toBe(120); // progress never goes back
  });

  it('no stored status shows a READY that contradicts its PHASE', () => {
    const contradictions = seen.filter(
      (s) =>
        (['Suspended', 'Succeeded', 'Failed'].includes(s.phase) && !s.ready.startsWith('0/')) ||
        (['Pending', 'Restarting'].includes(s.phase) && s.ready === '2/2'),
    );
    expect(contradictions).toEqual([]);
    // Not vacuous: the watch saw the restart and the suspension of the tests above.
    const phases = new Set(seen.map((s) => s.phase));
    expect([...phases].sort()).toEqual(expect.arrayContaining(['Restarting', 'Running', 'Suspended']));
  });
});
