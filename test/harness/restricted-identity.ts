/**
 * Acting as a restricted identity in tests: a ServiceAccount with exactly the RBAC rules given, a bound
 * token from the TokenRequest API, and a KubeConfig (and optionally a kubeconfig file) that uses it.
 */
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api, type V1PolicyRule } from '@kubernetes/client-node';
import { writeKubeconfig } from './kubeconfig.ts';

/** What {@link createServiceAccountIdentity} creates. */
export interface IdentitySpec {
  namespace: string;
  name: string;
  /** Namespaced rules granted through a Role + RoleBinding of the same name. None: the identity can do nothing. */
  rules?: V1PolicyRule[];
  /** Also bind this ClusterRole in the namespace (e.g. the built-in 'view' or 'edit'). */
  clusterRole?: string;
  tokenExpirationSeconds?: number;
  /** Also write a kubeconfig file here. */
  kubeconfigFile?: string;
}

/** A usable identity. */
export interface Identity {
  /** system:serviceaccount:<ns>:<name> */
  username: string;
  token: string;
  kubeConfig: KubeConfig;
}

/** Creates the ServiceAccount and its RBAC, requests a token and returns a KubeConfig authenticating with it. */
export async function createServiceAccountIdentity(admin: KubeConfig, spec: IdentitySpec): Promise<Identity> {
  const core = admin.makeApiClient(CoreV1Api);
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  const { namespace, name } = spec;
  const username = `system:serviceaccount:${namespace}:${name}`;
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  const subjects = [{ kind: 'ServiceAccount', name, namespace }];
  if (spec.rules && spec.rules.length > 0) {
    await rbac.createNamespacedRole({ namespace, body: { metadata: { name }, rules: spec.rules } });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects,
      },
    });
  }
  if (spec.clusterRole) {
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: `${name}-${spec.clusterRole}` },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: spec.clusterRole },
        subjects,
      },
    });
  }
  const request = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: spec.tokenExpirationSeconds ?? 3600 } },
  });
  const token = request.status?.token;
  if (!token) throw new Error(`TokenRequest for ${username}: status.token is empty`);
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error('createServiceAccountIdentity: the admin KubeConfig has no current cluster');
  const caFile = cluster.caFile;
  if (spec.kubeconfigFile && caFile) {
    const kubeConfig = await writeKubeconfig(spec.kubeconfigFile, {
      server: cluster.server,
      caCertFile: caFile,
      userName: name,
      credentials: { token },
      namespace,
    });
    return { username, token, kubeConfig };
  }
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ ...cluster, name: 'jcl-e2e' }],
    users: [{ name, token }],
    contexts: [{ name, cluster: 'jcl-e2e', user: name, namespace }],
    currentContext: name,
  });
  return { username, token, kubeConfig };
}
