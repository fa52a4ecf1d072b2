import { describe, expect, it } from 'vitest';
import {
  buildPodStatus,
  shouldRestart,
  terminalPhase,
  terminationReason,
  type PodRecord,
} from './pod-status.ts';

describe('runtime decisions', () => {
  it.each([
    ['Never', 0, false],
    ['Never', 1, false],
    ['OnFailure', 0, false],
    ['OnFailure', 75, true],
    ['Always', 0, true],
  ] as const)('restartPolicy %s, exit %i -> restart %s', (policy, code, expected) => {
    expect(shouldRestart(policy, code)).toBe(expected);
  });

  it.each([
    [0, false, null, 'Completed'],
    [1, false, null, 'Error'],
    [137, false, 'SIGKILL', 'OOMKilled'],
    [137, true, 'SIGKILL', 'Error'],
    [143, true, 'SIGTERM', 'Error'],
  ] as const)('exit %i (killed by harness %s, %s) -> %s', (code, byHarness, signal, expected) => {
    expect(terminationReason(code, byHarness, signal)).toBe(expected);
  });
});

describe('buildPodStatus', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  const base: PodRecord = {
    phase: 'Running',
    podIP: '127.5.0.2',
    hostIP: '127.0.0.1',
    startTime: now,
    initContainers: [],
    containers: [],
  };

  it.each([
    ['running: Initialized and Ready', 'running', { Initialized: 'True', Ready: 'True' }],
    ['not started yet: neither', 'waiting', { Initialized: 'False', Ready: 'False' }],
    [
      'exited (being restarted): Initialized, not Ready',
      'terminated',
      { Initialized: 'True', Ready: 'False' },
    ],
  ] as const)('a native sidecar (restartPolicy Always init container) %s', (_name, state, want) => {
    const main = { name: 'main', image: 'i', state: 'running', restartCount: 0 } as const;
    const status = buildPodStatus(
      {
        ...base,
        initContainers: [
          { name: 'prep', image: 'i', state: 'terminated', exitCode: 0, restartCount: 0 },
          { name: 'ship', image: 'i', state, exitCode: 0, restartCount: 0, sidecar: true },
        ],
        containers: [main],
      },
      now,
    );
    const conditions = Object.fromEntries((status.conditions ?? []).map((c) => [c.type, c.status]));
    expect({ Initialized: conditions.Initialized, Ready: conditions.Ready }).toEqual(want);
  });

  it('reports a running pod Ready', () => {
    const status = buildPodStatus(
      {
        ...base,
        containers: [{ name: 'main', image: 'i', state: 'running', restartCount: 0, startedAt: now }],
      },
      now,
    );
    expect(status.phase).toBe('Running');
    expect(status.podIP).toBe('127.5.0.2');
    expect(Object.fromEntries((status.conditions ?? []).map((c) => [c.type, c.status]))).toEqual({
      PodReadyToStartContainers: 'True',
      Initialized: 'True',
      Ready: 'True',
      ContainersReady: 'True',
      PodScheduled: 'True',
    });
    expect(status.containerStatuses?.[0]).toMatchObject({
      name: 'main',
      ready: true,
      state: { running: { startedAt: now } },
    });
  });

  it('reports a finished pod with the exit code, reason and message, not Ready (PodCompleted)', () => {
    const containers = [
      {
        name: 'main',
        image: 'i',
        state: 'terminated' as const,
        exitCode: 0,
        reason: 'Completed',
        message: '{"ok":true}',
        restartCount: 0,
      },
    ];
    expect(terminalPhase(containers)).toBe('Succeeded');
    const status = buildPodStatus({ ...base, phase: 'Succeeded', containers }, now);
    expect(status.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'PodCompleted',
    });
    expect(status.containerStatuses?.[0]?.state?.terminated).toMatchObject({
      exitCode: 0,
      reason: 'Completed',
      message: '{"ok":true}',
    });
  });

  it('fails the pod when any container failed', () => {
    expect(
      terminalPhase([
        { name: 'a', image: 'i', state: 'terminated', exitCode: 0, restartCount: 0 },
        { name: 'b', image: 'i', state: 'terminated', exitCode: 75, restartCount: 0 },
      ]),
    ).toBe('Failed');
  });
});
