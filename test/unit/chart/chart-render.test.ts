/**
 * The chart through the real helm binary (scripts/controlplane-build.sh builds it): lint, what it renders in
 * cluster-wide and namespace-scoped mode, the operator flags, the restricted security context, and that the
 * generated files (chart CRD copy, RBAC rule files, plain manifests) are current.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  buildGeneratedFiles,
  buildPlainManifests,
  CHART_DIR,
  crdCopyMatches,
  REPO,
  runHelm,
  staleFiles,
} from '../../../scripts/check-chart.ts';
import { parseOperatorConfig } from '../../../operator/src/config.ts';
import { resolveBinDir } from '../../harness/control-plane.ts';
import { find, inventory, renderWith, type K8sObject } from './render-with.ts';

const argsOf = (objs: K8sObject[]) =>
  find(objs, 'Deployment').spec.template.spec.containers[0].args as string[];

describe('helm chart', () => {
  it('passes helm lint --strict, with defaults and with a namespace list', () => {
    expect(runHelm(['lint', '--strict', CHART_DIR])).toContain('0 chart(s) failed');
    expect(
      runHelm([
        'lint',
        '--strict',
        CHART_DIR,
        '--set',
        'watchNamespaces={team-a,team-b}',
        '--set',
        'replicas=2',
      ]),
    ).toContain('0 chart(s) failed');
  });

  it('renders cluster-wide RBAC, the Deployment, the metrics Service and the Lease Role by default', () => {
    const objs = renderWith({}, { release: 'jcl', namespace: 'jcl-system' });
    expect(inventory(objs)).toEqual([
      'ClusterRole/jcl-jcl-operator',
      'ClusterRoleBinding/jcl-jcl-operator',
      'Deployment/jcl-system/jcl-jcl-operator',
      'Role/jcl-system/jcl-jcl-operator-leader-election',
      'RoleBinding/jcl-system/jcl-jcl-operator-leader-election',
      'Service/jcl-system/jcl-jcl-operator-metrics',
      'ServiceAccount/jcl-system/jcl-jcl-operator',
    ]);
    expect(argsOf(objs)).toEqual([
      '--namespaces=all',
      '--metrics-port=8080',
      '--leader-elect',
      '--lease-name=jcl-jcl-operator-leader',
      '--worker-image=ghcr.io/jcl-operator/jcl:0.1.0',
      '--worker-command=node /app/bin/jcl.js',
      '--log-level=info',
      '--concurrent-reconciles=16',
      '--operator-pod-labels=app.kubernetes.io/name=jcl-operator,app.kubernetes.io/instance=jcl',
    ]);
    expect(find(objs, 'ClusterRoleBinding').subjects).toEqual([
      { kind: 'ServiceAccount', name: 'jcl-jcl-operator', namespace: 'jcl-system' },
    ]);
  });

  it('with watchNamespaces: a Role + RoleBinding per namespace, no cluster-wide grant, and --namespaces', () => {
    const objs = renderWith(
      {
        watchNamespaces: ['team-a', 'team-b'],
        leaderElection: { enabled: false },
        metrics: { port: 9090, service: { enabled: false } },
      },
      { release: 'jcl-operator', namespace: 'ops' },
    );
    expect(inventory(objs)).toEqual([
      'Deployment/ops/jcl-operator',
      'Role/team-a/jcl-operator',
      'Role/team-b/jcl-operator',
      'RoleBinding/team-a/jcl-operator',
      'RoleBinding/team-b/jcl-operator',
      'ServiceAccount/ops/jcl-operator',
    ]);
    for (const rb of objs.filter((o) => o.kind === 'RoleBinding'))
      expect(rb.subjects).toEqual([{ kind: 'ServiceAccount', name: 'jcl-operator', namespace: 'ops' }]);
    expect(argsOf(objs).slice(0, 3)).toEqual([
      '--namespaces=team-a,team-b',
      '--metrics-port=9090',
      '--worker-image=ghcr.io/jcl-operator/jcl:0.1.0',
    ]);
  });

  it('sets image, pull secrets, worker image, log level, resources, replicas and the ServiceMonitor from values', () => {
    const objs = renderWith({
      image: { repository: 'registry.example/jcl-operator', tag: '1.2.3', pullPolicy: 'Always' },
      imagePullSecrets: [{ name: 'regcred' }],
      replicas: 2,
      logLevel: 'debug',
      worker: {
        image: { repository: 'registry.example/jcl-gpu', tag: '1.2.3' },
        command: 'node /app/bin/jcl.js',
      },
      resources: { requests: { cpu: '200m', memory: '256Mi' }, limits: { memory: '1Gi' } },
      metrics: {
        port: 8080,
        service: { enabled: true, port: 8080 },
        serviceMonitor: { enabled: true, interval: '15s', labels: { release: 'prom' } },
      },
    });
    const dep = find(objs, 'Deployment');
    const pod = dep.spec.template.spec;
    expect(dep.spec.replicas).toBe(2);
    expect(pod.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(pod.containers[0]).toMatchObject({
      image: 'registry.example/jcl-operator:1.2.3',
      imagePullPolicy: 'Always',
      resources: { requests: { cpu: '200m', memory: '256Mi' }, limits: { memory: '1Gi' } },
    });
    expect(argsOf(objs)).toEqual(
      expect.arrayContaining([
        '--log-level=debug',
        '--worker-image=registry.example/jcl-gpu:1.2.3',
        '--leader-elect',
      ]),
    );
    const sm = find(objs, 'ServiceMonitor');
    expect(sm.metadata.labels.release).toBe('prom');
    expect(sm.spec.endpoints).toEqual([
      { port: 'metrics', path: '/metrics', interval: '15s', scrapeTimeout: '10s' },
    ]);
    // The ServiceMonitor selects exactly the metrics Service.
    const svc = find(objs, 'Service');
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) expect(svc.metadata.labels[k]).toBe(v);
  });

  it('passes flags the operator accepts, meaning what the values say (operator/src/config.ts parses them)', () => {
    const objs = renderWith(
      {
        watchNamespaces: ['team-a', 'team-b'],
        logLevel: 'warn',
        concurrentReconciles: 8,
        extraArgs: ['--poll-interval-ms=5000'],
      },
      { release: 'jcl', namespace: 'ops' },
    );
    const cfg = parseOperatorConfig(argsOf(objs), { POD_NAMESPACE: 'ops', POD_NAME: 'jcl-jcl-operator-abc' });
    expect(cfg).toMatchObject({
      namespaces: ['team-a', 'team-b'],
      metricsPort: 8080,
      leaderElect: true,
      leaseNamespace: 'ops',
      leaseName: 'jcl-jcl-operator-leader',
      workerImage: 'ghcr.io/jcl-operator/jcl:0.1.0',
      workerCommand: ['node', '/app/bin/jcl.js'],
      logLevel: 'warn',
      concurrentReconciles: 8,
      operatorNamespace: 'ops',
      operatorPodLabels: { 'app.kubernetes.io/name': 'jcl-operator', 'app.kubernetes.io/instance': 'jcl' },
      pollIntervalMs: 5000,
    });
    expect(parseOperatorConfig(argsOf(renderWith()), {}).namespaces).toBeUndefined();
  });

  it('runs the operator under Pod Security "restricted": non-root, RuntimeDefault seccomp, no capabilities, read-only root', () => {
    const pod = find(renderWith(), 'Deployment').spec.template.spec;
    expect(pod.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.containers[0].securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    // The read-only root needs a writable /tmp (tsx compile cache).
    expect(pod.containers[0].volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
    // The NetworkPolicy the operator writes admits pods with --operator-pod-labels: they must be this pod's labels.
    const labelsFlag = (pod.containers[0].args as string[])
      .find((a) => a.startsWith('--operator-pod-labels='))!
      .split('=')
      .slice(1)
      .join('=');
    for (const pair of labelsFlag.split(',')) {
      const [k, v] = pair.split('=');
      expect(find(renderWith(), 'Deployment').spec.template.metadata.labels[k]).toBe(v);
    }
  });

  it('keeps one source: chart CRD = manifests/crd, rule files = rbac.ts, plain manifests = helm template', async () => {
    expect(crdCopyMatches()).toBe(true);
    expect(staleFiles(await buildGeneratedFiles())).toEqual([]);
    expect(staleFiles(buildPlainManifests())).toEqual([]);
  });

  it('builds manifests/ with kustomize into the CRD, namespace, RBAC and operator', () => {
    const out = execFileSync(
      path.join(resolveBinDir(), 'kubectl'),
      ['kustomize', path.join(REPO, 'manifests')],
      { encoding: 'utf8' },
    );
    const kinds = parseAllDocuments(out).map(
      (d) => `${d.get('kind')}/${(d.toJS() as K8sObject).metadata.name}`,
    );
    expect(kinds.sort()).toEqual([
      'ClusterRole/jcl-operator',
      'ClusterRoleBinding/jcl-operator',
      'CustomResourceDefinition/jcltrainingjobs.training.jcl.dev',
      'Deployment/jcl-operator',
      'Namespace/jcl-system',
      'Role/jcl-operator-leader-election',
      'RoleBinding/jcl-operator-leader-election',
      'Service/jcl-operator-metrics',
      'ServiceAccount/jcl-operator',
    ]);
  });
});
