/**
 * What the operator may do, and nothing more: the ClusterRole rules the Helm chart grants (plus a
 * namespaced Role for the leader-election Lease). Each rule names the code that needs it; the e2e test
 * runs the operator as a ServiceAccount holding exactly these rules.
 */
import type { V1PolicyRule } from '@kubernetes/client-node';
import { GROUP, PLURAL } from './constants.ts';

/** Cluster-wide (or per watched namespace) rules. */
export const OPERATOR_RULES: readonly V1PolicyRule[] = Object.freeze([
  // informers (list/watch), reconciler reads (get), TTL after finish (delete)
  { apiGroups: [GROUP], resources: [PLURAL], verbs: ['get', 'list', 'watch', 'delete'] },
  // the one status write per reconcile
  { apiGroups: [GROUP], resources: [`${PLURAL}/status`], verbs: ['get', 'update', 'patch'] },
  // ownerReferences with blockOwnerDeletion (OwnerReferencesPermissionEnforcement)
  { apiGroups: [GROUP], resources: [`${PLURAL}/finalizers`], verbs: ['update'] },
  // worker pods: informer, gang creation, gang restart / cleanPodPolicy / suspend deletions; patch: the
  // annotation that ends a finished job's Kueue pod group (kueue.x-k8s.io/retriable-in-group)
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
  // the headless Service (informer + create)
  { apiGroups: [''], resources: ['services'], verbs: ['get', 'list', 'watch', 'create'] },
  // the training config
  { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
  // the job token: created once, read back by the progress poller
  { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'create'] },
  // Events for every transition
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
  { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['create'] },
  // evaluation follow-ups (informer + create; garbage collection deletes them with the job)
  { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list', 'watch', 'create'] },
]);

/**
 * Added to OPERATOR_RULES only when the chart enables the provider (values gangScheduling.<provider>): the
 * gang's PodGroup, created once per job (desired/gang.ts); garbage collection deletes it with the job.
 * Provider kueue needs nothing beyond pods (patch included, for the retriable-in-group annotation).
 */
export const GANG_SCHEDULING_RULES: Readonly<Record<'volcano' | 'coscheduling', readonly V1PolicyRule[]>> =
  Object.freeze({
    volcano: [{ apiGroups: ['scheduling.volcano.sh'], resources: ['podgroups'], verbs: ['create'] }],
    coscheduling: [{ apiGroups: ['scheduling.x-k8s.io'], resources: ['podgroups'], verbs: ['create'] }],
  });

/** Namespaced rules in the Lease namespace (only with --leader-elect). */
export const LEADER_ELECTION_RULES: readonly V1PolicyRule[] = Object.freeze([
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
]);
