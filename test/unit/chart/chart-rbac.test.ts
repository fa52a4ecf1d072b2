/**
 * Least privilege of what the chart grants (issue 7): every rendered Role/ClusterRole, listed as
 * "scope: apiGroup/resource: verbs", in both RBAC modes. The operator's role is exactly OPERATOR_RULES and
 * the Lease role exactly LEADER_ELECTION_RULES (operator/src/api/rbac.ts, the single source).
 */
import { describe, expect, it } from 'vitest';
import {
  GANG_SCHEDULING_RULES,
  LEADER_ELECTION_RULES,
  OPERATOR_RULES,
} from '../../../operator/src/api/rbac.ts';
import { renderWith, type K8sObject } from './render-with.ts';

/** One line per (apiGroup, resource) a role grants. */
function grants(objs: K8sObject[]): string[] {
  const lines: string[] = [];
  for (const role of objs.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole')) {
    const scope =
      role.kind === 'ClusterRole'
        ? `cluster:${role.metadata.name}`
        : `${role.metadata.namespace}:${role.metadata.name}`;
    for (const rule of role.rules)
      for (const g of rule.apiGroups)
        for (const r of rule.resources) lines.push(`${scope}: ${g || 'core'}/${r}: ${rule.verbs.join(',')}`);
  }
  return lines.sort();
}

const OPERATOR_GRANTS = (scope: string) => [
  `${scope}: batch/jobs: get,list,watch,create`,
  `${scope}: core/configmaps: create`,
  `${scope}: core/events: create,patch`,
  `${scope}: core/pods: get,list,watch,create,patch,delete`,
  `${scope}: core/secrets: get,create`,
  `${scope}: core/services: get,list,watch,create`,
  `${scope}: networking.k8s.io/networkpolicies: create`,
  `${scope}: training.jcl.dev/jcltrainingjobs/finalizers: update`,
  `${scope}: training.jcl.dev/jcltrainingjobs/status: get,update,patch`,
  `${scope}: training.jcl.dev/jcltrainingjobs: get,list,watch,delete`,
];

const roles = (objs: K8sObject[]) => objs.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole');

describe('chart RBAC', () => {
  it('cluster-wide mode grants exactly this', () => {
    expect(grants(renderWith({}, { release: 'jcl-operator', namespace: 'jcl-system' }))).toEqual(
      [
        ...OPERATOR_GRANTS('cluster:jcl-operator'),
        'jcl-system:jcl-operator-leader-election: coordination.k8s.io/leases: get,create,update',
      ].sort(),
    );
  });

  it('namespace mode grants exactly this, and nothing cluster-wide', () => {
    const objs = renderWith(
      { watchNamespaces: ['team-a', 'team-b'] },
      { release: 'jcl-operator', namespace: 'jcl-system' },
    );
    expect(objs.filter((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding')).toEqual([]);
    expect(grants(objs)).toEqual(
      [
        ...OPERATOR_GRANTS('team-a:jcl-operator'),
        ...OPERATOR_GRANTS('team-b:jcl-operator'),
        'jcl-system:jcl-operator-leader-election: coordination.k8s.io/leases: get,create,update',
      ].sort(),
    );
  });

  it('uses exactly OPERATOR_RULES and LEADER_ELECTION_RULES from operator/src/api/rbac.ts', () => {
    for (const values of [{}, { watchNamespaces: ['team-a'] }]) {
      for (const role of roles(renderWith(values))) {
        const want = role.metadata.name.endsWith('-leader-election') ? LEADER_ELECTION_RULES : OPERATOR_RULES;
        expect(role.rules).toEqual(
          want.map((r) => ({ apiGroups: r.apiGroups, resources: r.resources, verbs: r.verbs })),
        );
      }
    }
  });

  it('has no wildcards, no escalation verbs, no RBAC or node access, and no Secret list/watch', () => {
    for (const values of [{}, { watchNamespaces: ['team-a'] }]) {
      for (const role of roles(renderWith(values))) {
        for (const rule of role.rules) {
          for (const field of ['apiGroups', 'resources', 'verbs'])
            expect(rule[field], `${role.metadata.name}.${field}`).not.toContain('*');
          expect(rule.verbs).not.toEqual(expect.arrayContaining(['escalate']));
          for (const bad of ['bind', 'impersonate', 'escalate', 'deletecollection'])
            expect(rule.verbs).not.toContain(bad);
          expect(rule.apiGroups).not.toContain('rbac.authorization.k8s.io');
          expect(rule.resources).not.toEqual(expect.arrayContaining(['nodes']));
          expect(rule.resourceNames ?? []).toEqual([]);
          // Reading a named token Secret the operator itself created is needed (progress poller); enumerating
          // Secrets is not: list/watch would expose every Secret of every watched namespace.
          if (rule.resources.includes('secrets')) expect([...rule.verbs].sort()).toEqual(['create', 'get']);
          expect(rule.resources).not.toContain('pods/exec');
          expect(rule.resources).not.toContain('serviceaccounts/token');
        }
      }
    }
  });

  it('opt-in user roles: admin/edit may manage JCLTrainingJobs, view may read them, nothing else', () => {
    const objs = renderWith(
      { rbac: { create: true, aggregateToDefaultRoles: true } },
      { release: 'jcl-operator' },
    );
    const users = objs.filter((o) => o.kind === 'ClusterRole' && /-(edit|view)$/.test(o.metadata.name));
    expect(grants(users)).toEqual([
      'cluster:jcl-operator-edit: training.jcl.dev/jcltrainingjobs/status: get,list,watch',
      'cluster:jcl-operator-edit: training.jcl.dev/jcltrainingjobs: get,list,watch,create,update,patch,delete,deletecollection',
      'cluster:jcl-operator-view: training.jcl.dev/jcltrainingjobs/status: get,list,watch',
      'cluster:jcl-operator-view: training.jcl.dev/jcltrainingjobs: get,list,watch',
    ]);
    expect(
      users.map((r) =>
        Object.keys(r.metadata.labels)
          .filter((k) => k.startsWith('rbac.'))
          .sort(),
      ),
    ).toEqual([
      ['rbac.authorization.k8s.io/aggregate-to-admin', 'rbac.authorization.k8s.io/aggregate-to-edit'],
      ['rbac.authorization.k8s.io/aggregate-to-view'],
    ]);
    // Off by default.
    expect(renderWith().filter((o) => /-(edit|view)$/.test(o.metadata.name))).toEqual([]);
  });

  it('gang scheduling: PodGroup create only for the providers the values enable, in both modes', () => {
    const podGroupGrants = (values: Record<string, unknown>) =>
      grants(renderWith(values, { release: 'jcl-operator', namespace: 'jcl-system' })).filter((g) =>
        g.includes('podgroups'),
      );
    expect(podGroupGrants({})).toEqual([]);
    expect(podGroupGrants({ gangScheduling: { volcano: true } })).toEqual([
      'cluster:jcl-operator: scheduling.volcano.sh/podgroups: create',
    ]);
    expect(
      podGroupGrants({ gangScheduling: { volcano: true, coscheduling: true }, watchNamespaces: ['team-a'] }),
    ).toEqual([
      'team-a:jcl-operator: scheduling.volcano.sh/podgroups: create',
      'team-a:jcl-operator: scheduling.x-k8s.io/podgroups: create',
    ]);
    const role = renderWith({ gangScheduling: { coscheduling: true } }).find((o) => o.kind === 'ClusterRole');
    expect(role?.rules).toEqual(
      [...OPERATOR_RULES, ...GANG_SCHEDULING_RULES.coscheduling].map((r) => ({
        apiGroups: r.apiGroups,
        resources: r.resources,
        verbs: r.verbs,
      })),
    );
  });

  it('creates no RBAC with rbac.create=false (bring your own, e.g. from files/operator-rules.yaml)', () => {
    expect(
      renderWith({ rbac: { create: false } }).filter((o) =>
        o.apiVersion?.startsWith('rbac.authorization.k8s.io'),
      ),
    ).toEqual([]);
  });
});
