/**
 * The node harness attaches claims as a cloud's block volumes are attached (issue 18): a pod that mounts a
 * ReadWriteOnce claim in use on another node waits in ContainerCreating ("Multi-Attach error") until that
 * pod is gone, while a ReadWriteMany claim is mounted on every node at once. The operator's ReadWriteOnce
 * drill (operator-resume.test.ts) relies on this to show that only rank 0 mounts the checkpoint claim.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { useControlPlane, useTestNamespaces, waitForPod as waitForPodIn } from '../harness/e2e-context.ts';
import { NodeHarness } from '../harness/node-harness.ts';
import { tailFile } from '../harness/managed-process.ts';

const plane = useControlPlane();
const kc = plane.kubeConfig;
const core = kc.makeApiClient(CoreV1Api);
const namespace = useTestNamespaces(kc);

describe('node harness: ReadWriteOnce claims across nodes', () => {
  let ns: string;
  let node: NodeHarness;
  const nodes = () => node.nodeNames;

  /** A sleeping pod pinned to node `n` that mounts `claim` at /data. */
  const claimPod = (name: string, n: number, claim: string) =>
    core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name },
        spec: {
          nodeName: nodes()[n],
          restartPolicy: 'Never',
          containers: [
            {
              name: 'main',
              image: 'jcl-e2e/node:local',
              command: ['node', '-e', 'setInterval(() => undefined, 1000);'],
              volumeMounts: [{ name: 'vol', mountPath: '/data' }],
            },
          ],
          volumes: [{ name: 'vol', persistentVolumeClaim: { claimName: claim } }],
        },
      },
    });
  const waitForPod = (name: string, description: string, done: (pod: V1Pod) => boolean) =>
    waitForPodIn(kc, ns, name, description, done, { diagnose: () => tailFile(node.logFile) });
  const running = (p: V1Pod) => p.status?.phase === 'Running';

  beforeAll(async () => {
    ns = await namespace('attach');
    node = await NodeHarness.start({
      kubeConfig: kc,
      namespaces: [ns],
      nodes: [0, 1].map((i) => ({ name: `node-${ns}-${i}` })),
      maxGraceMs: 2_000,
    });
    for (const [name, mode] of [
      ['solo', 'ReadWriteOnce'],
      ['shared', 'ReadWriteMany'],
    ])
      await core.createNamespacedPersistentVolumeClaim({
        namespace: ns,
        body: {
          metadata: { name },
          spec: { accessModes: [mode], resources: { requests: { storage: '1Gi' } } },
        },
      });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('holds the second node of a ReadWriteOnce claim until the first pod is gone', async () => {
    await claimPod('first', 0, 'solo');
    await waitForPod('first', 'Running', running);
    await claimPod('second', 1, 'solo');
    const held = await waitForPod(
      'second',
      'waiting for the volume',
      (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ContainerCreating',
    );
    expect(held.status?.phase).toBe('Pending');
    expect(held.status?.containerStatuses?.[0]?.state?.waiting?.message).toBe(
      `Multi-Attach error for volume of claim ${ns}/solo: ReadWriteOnce, already attached to node ${nodes()[0]} for pod first`,
    );
    // A third pod on the first node shares the attachment, as on a real node.
    await claimPod('same-node', 0, 'solo');
    await waitForPod('same-node', 'Running', running);
    await core.deleteNamespacedPod({ name: 'first', namespace: ns });
    await core.deleteNamespacedPod({ name: 'same-node', namespace: ns });
    await waitForPod('second', 'Running once the other node let go', running);
  }, 120_000);

  it('mounts a ReadWriteMany claim on both nodes at once', async () => {
    await claimPod('left', 0, 'shared');
    await claimPod('right', 1, 'shared');
    await waitForPod('left', 'Running', running);
    await waitForPod('right', 'Running', running);
  }, 120_000);
});
