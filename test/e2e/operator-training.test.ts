/**
 * The whole path with the real runtime: manifests/examples/jcljob-tiny-synthetic.yaml, 2 `jcl worker`
 * processes (the node harness runs the pods; the operator's --worker-command points at this checkout)
 * train to completion over gRPC, the operator polls rank 0's progress, then a `jcl eval knn` Job reports
 * top-1 into status.evaluation.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { createTestNamespace, deleteTestNamespace, useControlPlane } from '../harness/e2e-context.ts';
import { NodeHarness } from '../harness/node-harness.ts';
import { REPO_ROOT } from '../harness/control-plane.ts';
import { tailFile } from '../harness/managed-process.ts';
import { installCrd, Jobs, kubectlApply, startOperator, type OperatorProcess } from '../../operator/src/testing/e2e-kit.ts';

const plane = useControlPlane();
const kc = plane.kubeConfig;
let ns: string;
let node: NodeHarness;
let operator: OperatorProcess;

beforeAll(async () => {
  await installCrd(kc, plane.kubeconfigPath);
  ns = await createTestNamespace(kc, 'jcl-train', { 'pod-security.kubernetes.io/enforce': 'restricted' });
  node = await NodeHarness.start({ kubeConfig: kc, namespaces: [ns], nodeName: `node-${ns}`, maxGraceMs: 5_000 });
  operator = await startOperator(plane.kubeconfigPath, ['--namespaces', ns, '--poll-interval-ms', '1000', '--worker-command', `node ${path.join(REPO_ROOT, 'bin/jcl.js')}`]);
});
afterAll(async () => {
  await operator?.stop();
  await node?.stop();
  if (ns) await deleteTestNamespace(kc, ns);
});

const logsOf = (pod: string) => {
  const f = node.podLogFiles(ns, pod);
  return `--- ${pod} ---\n${tailFile(f.stdout, 25)}\n${f.stderr === f.stdout ? '' : tailFile(f.stderr, 15)}`;
};

describe('tiny synthetic training job', () => {
  it('trains with 2 real workers, reports progress, and runs the k-NN follow-up', async () => {
    const manifest = parse(readFileSync(path.join(REPO_ROOT, 'manifests/examples/jcljob-tiny-synthetic.yaml'), 'utf8'));
    manifest.metadata.namespace = ns;
    await kubectlApply(plane.kubeconfigPath, stringify(manifest));
    const jobs = new Jobs(kc, ns);
    const diagnose = () => [logsOf('tiny-synthetic-worker-0'), logsOf('tiny-synthetic-worker-1'), `--- operator ---\n${tailFile(operator.logFile, 20)}`].join('\n');
    const done = await jobs.waitFor('tiny-synthetic', 'trained and evaluated', (j) => j.status?.phase === 'Failed' || ['Succeeded', 'Failed'].includes(j.status?.evaluation?.results?.[0]?.phase ?? ''), 900_000, diagnose);
    expect(done.status?.phase, diagnose()).toBe('Succeeded');
    expect(done.status?.restarts).toBe(0);
    expect(done.status?.progress?.epoch).toBeGreaterThanOrEqual(1);
    expect(done.status?.progress?.loss).toBeTypeOf('number');
    const knn = done.status?.evaluation?.results?.[0];
    expect(knn, diagnose()).toMatchObject({ kind: 'knn', phase: 'Succeeded', result: { kind: 'knn', metric: 'top1' } });
    expect(done.status?.evaluation?.top1).toBeGreaterThanOrEqual(0);
    expect(done.status?.evaluation?.top1).toBeLessThanOrEqual(1);
  });
});
