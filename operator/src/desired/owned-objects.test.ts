import { describe, expect, it } from 'vitest';
import { makeJob } from '../testing/make-job.ts';
import { buildService } from './service.ts';
import { buildSecret } from './secret.ts';
import { buildNetworkPolicy } from './network-policy.ts';
import { buildEvalJob } from './eval-job.ts';
import { DEFAULT_BUILD_OPTIONS as opts } from './options.ts';
import { labels, owner, restricted } from '../testing/desired-fixtures.ts';

describe('the other owned objects', () => {
  const job = makeJob().workers(2).obj();
  it.each([
    {
      name: 'headless service',
      got: () => buildService(job),
      want: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'demo-workers', namespace: 'ns', labels: labels('worker'), ownerReferences: owner },
        spec: {
          clusterIP: 'None',
          selector: { 'training.jcl.dev/job-name': 'demo', 'app.kubernetes.io/component': 'worker' },
          publishNotReadyAddresses: true,
          ports: [
            { name: 'grpc', port: 29500, targetPort: 29500, protocol: 'TCP' },
            { name: 'status', port: 29501, targetPort: 29501, protocol: 'TCP' },
            { name: 'data', port: 29502, targetPort: 29502, protocol: 'TCP' },
          ],
        },
      },
    },
    {
      name: 'token secret',
      got: () => buildSecret(job, 'tok'),
      want: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'demo-token', namespace: 'ns', labels: labels('token'), ownerReferences: owner },
        type: 'Opaque',
        immutable: true,
        stringData: { token: 'tok' },
      },
    },
    {
      name: 'network policy',
      got: () => buildNetworkPolicy(job, { ...opts, operatorNamespace: 'jcl-system' }),
      want: {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: {
          name: 'demo-workers',
          namespace: 'ns',
          labels: labels('network'),
          ownerReferences: owner,
        },
        spec: {
          podSelector: {
            matchLabels: { 'training.jcl.dev/job-name': 'demo', 'app.kubernetes.io/component': 'worker' },
          },
          policyTypes: ['Ingress'],
          ingress: [
            {
              _from: [
                {
                  podSelector: {
                    matchLabels: {
                      'training.jcl.dev/job-name': 'demo',
                      'app.kubernetes.io/component': 'worker',
                    },
                  },
                },
              ],
              ports: [
                { protocol: 'TCP', port: 29500 },
                { protocol: 'TCP', port: 29501 },
                { protocol: 'TCP', port: 29502 },
              ],
            },
            {
              _from: [
                {
                  podSelector: { matchLabels: { 'app.kubernetes.io/name': 'jcl-operator' } },
                  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'jcl-system' } },
                },
              ],
              ports: [{ protocol: 'TCP', port: 29501 }],
            },
          ],
        },
      },
    },
  ])('$name', ({ got, want }) => {
    expect(got()).toEqual(want);
  });

  it('without --operator-namespace, admits the operator only from the job namespace, not any namespace', () => {
    const peers = buildNetworkPolicy(job, { ...opts, operatorNamespace: '' }).spec?.ingress?.[1]._from;
    expect(peers).toEqual([{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'jcl-operator' } } }]);
  });

  it('builds the evaluation Job of spec.evaluation[0]', () => {
    const j = makeJob().evaluation('knn', { k: 20 }).obj();
    const built = buildEvalJob(j, 0, opts);
    const evalLabels = { ...labels('eval'), 'training.jcl.dev/eval-kind': 'knn' };
    expect(built.metadata).toEqual({
      name: 'demo-eval-0',
      namespace: 'ns',
      labels: evalLabels,
      ownerReferences: owner,
    });
    expect(built.spec?.backoffLimit).toBe(0);
    expect(built.spec?.template.spec?.containers[0]).toMatchObject({
      name: 'eval',
      command: ['node', '/app/bin/jcl.js', 'eval', 'knn'],
      args: ['--checkpoint', '/checkpoints/demo', '--k', '20'],
      terminationMessagePolicy: 'FallbackToLogsOnError',
      securityContext: restricted,
    });
    expect(built.spec?.template.spec?.volumes?.map((v) => v.name)).toEqual(['config', 'checkpoints', 'tmp']);
    expect(() => buildEvalJob(j, 3, opts)).toThrow('spec.evaluation[3]: no such evaluation, the job has 1');
  });

  // Issue 19: {cacheFeatures: true, milestones: [60, 80]} became `--cacheFeatures true --milestones [60,80]`.
  it.each([
    ['knn', { k: 20, limit: 500 }, ['--k', '20', '--limit', '500']],
    [
      'linear',
      { cacheFeatures: true, milestones: [60, 80], weightDecay: 0.1, cropMin: 0.2 },
      ['--cache-features', '--milestones', '60,80', '--weight-decay', '0.1', '--crop-min', '0.2'],
    ],
    ['linear', { cacheFeatures: false, epochs: 5 }, ['--epochs', '5']],
    [
      'features',
      { encoder: 'query', split: 'train', images: 16 },
      ['--encoder', 'query', '--split', 'train', '--images', '16'],
    ],
  ] as const)('turns %s params %j into the jcl eval flags %j', (kind, params, flags) => {
    const j = makeJob().evaluation(kind, params).obj();
    expect(buildEvalJob(j, 0, opts).spec?.template.spec?.containers[0].args).toEqual([
      '--checkpoint',
      '/checkpoints/demo',
      ...flags,
    ]);
  });

  it('refuses a parameter the kind does not take, naming it', () => {
    const j = makeJob().evaluation('knn', { epochs: 5 }).obj();
    expect(() => buildEvalJob(j, 0, opts)).toThrow(
      'spec.evaluation[0].params.epochs: not a parameter of knn (expected one of k, limit), got 5',
    );
  });
});
