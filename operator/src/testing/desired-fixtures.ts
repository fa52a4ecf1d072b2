/** Expected-object pieces shared by the desired-object tests (operator/src/desired/*.test.ts). */

/** The labels every owned object of job "demo" carries, with its component. */
export const labels = (component: string) => ({
  'app.kubernetes.io/name': 'jcl',
  'app.kubernetes.io/instance': 'demo',
  'app.kubernetes.io/component': component,
  'app.kubernetes.io/part-of': 'jcl',
  'app.kubernetes.io/managed-by': 'jcl-operator',
  'training.jcl.dev/job-name': 'demo',
});

/** The ownerReferences of every owned object of job "demo". */
export const owner = [
  {
    apiVersion: 'training.jcl.dev/v1alpha1',
    kind: 'JCLTrainingJob',
    name: 'demo',
    uid: 'uid-demo',
    controller: true,
    blockOwnerDeletion: true,
  },
];

/** The container securityContext of Pod Security "restricted". */
export const restricted = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};
