/**
 * The whole path with the real runtime: manifests/examples/jcljob-tiny-synthetic.yaml, 2 `jcl worker`
 * processes (the node harness runs the pods; the operator's --worker-command points at this checkout)
 * train to completion over gRPC, the operator polls rank 0's progress, then a `jcl eval knn` Job reports
 * top-1 into status.evaluation.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { REPO_ROOT } from '../harness/control-plane.ts';
import { Jobs, kubectlApply } from '../../operator/src/testing/e2e-kit.ts';
import { diagnosePods, useTrainingEnvironment } from './support/training-env.ts';

const env = useTrainingEnvironment('jcl-train');

describe('tiny synthetic training job', () => {
  it('trains with 2 real workers, reports progress, and runs the k-NN, linear and features follow-ups', async () => {
    const docs = parseAllDocuments(
      readFileSync(path.join(REPO_ROOT, 'manifests/examples/jcljob-tiny-synthetic.yaml'), 'utf8'),
    ).map((d) => d.toJS());
    for (const doc of docs) {
      doc.metadata.namespace = env.ns;
      // Workaround (harness, pod-status.ts): it reports qosClass BestEffort for every pod, which the
      // apiserver refuses for pods with resources; the example's requests are for real clusters.
      if (doc.kind === 'JCLTrainingJob') {
        delete doc.spec.template.resources;
        // Every evaluation kind, as batch Jobs running the real `jcl eval` (small parameters).
        doc.spec.evaluation = [
          ...doc.spec.evaluation,
          {
            kind: 'linear',
            params: { cacheFeatures: true, epochs: 5, limit: 64, milestones: [3, 4], batch: 32 },
          },
          { kind: 'features', params: { images: 16, keys: 3 } },
        ];
      }
    }
    await kubectlApply(env.plane.kubeconfigPath, docs.map((d) => stringify(d)).join('---\n'));
    const jobs = new Jobs(env.plane.kubeConfig, env.ns);
    const diagnose = diagnosePods(env, ['tiny-synthetic-worker-0', 'tiny-synthetic-worker-1']);
    const done = await jobs.waitFor(
      'tiny-synthetic',
      'trained and evaluated',
      (j) =>
        j.status?.phase === 'Failed' ||
        ((j.status?.evaluation?.results ?? []).length === 3 &&
          (j.status?.evaluation?.results ?? []).every((r) =>
            ['Succeeded', 'Failed'].includes(r.phase ?? ''),
          )),
      840_000,
      diagnose,
    );
    expect(done.status?.phase, diagnose()).toBe('Succeeded');
    expect(done.status?.restarts, `${JSON.stringify(done.status?.conditions)}\n${diagnose()}`).toBe(0);
    expect(done.status?.progress?.epoch, diagnose()).toBeGreaterThanOrEqual(1);
    expect(done.status?.progress?.loss).toBeTypeOf('number');
    const knn = done.status?.evaluation?.results?.[0];
    const results = JSON.stringify(done.status?.evaluation?.results, null, 1);
    expect(knn, `${results}\n${diagnose()}`).toMatchObject({
      kind: 'knn',
      phase: 'Succeeded',
      result: { kind: 'knn', metric: 'top1' },
    });
    // The typed, non-default params reached `jcl eval` (issue 19): its results echo them.
    expect(knn?.result).toMatchObject({ k: 5 });
    expect(done.status?.evaluation?.results?.[1], diagnose()).toMatchObject({
      kind: 'linear',
      phase: 'Succeeded',
      result: { kind: 'linear', metric: 'top1', split: 'test', epochs: 5, batch: 32, milestones: [3, 4] },
    });
    expect(done.status?.evaluation?.results?.[2], diagnose()).toMatchObject({
      kind: 'features',
      phase: 'Succeeded',
      result: { kind: 'features', metric: 'alignment', images: 16, keys: 3 },
    });
    expect(done.status?.evaluation?.top1).toBeGreaterThanOrEqual(0);
    expect(done.status?.evaluation?.top1).toBeLessThanOrEqual(1);
  }, 900_000);
});
