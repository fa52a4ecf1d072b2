/**
 * Only this job's workers may reach its gRPC, status and data ports; the operator's pods may reach the status
 * port (it polls rank 0's progress), from --operator-namespace, or from the job's own namespace when that is
 * unset. Everything else is denied by selecting the pods for Ingress.
 */
import type { V1NetworkPolicy, V1NetworkPolicyPeer } from '@kubernetes/client-node';
import { DATA_PORT, GRPC_PORT, STATUS_PORT } from '../api/constants.ts';
import type { JCLTrainingJob } from '../api/status-schema.ts';
import { ownedMetadata, workerSelector } from './labels.ts';
import { networkPolicyName } from './names.ts';
import type { BuildOptions } from './options.ts';

export function buildNetworkPolicy(job: JCLTrainingJob, opts: BuildOptions): V1NetworkPolicy {
  const name = job.metadata?.name ?? '';
  // Without a known operator namespace, a peer without namespaceSelector means the job's own namespace
  // only; an empty selector ({}) would admit any pod labelled as the operator in any namespace.
  const operatorPeer: V1NetworkPolicyPeer =
    opts.operatorNamespace === ''
      ? { podSelector: { matchLabels: { ...opts.operatorPodLabels } } }
      : {
          podSelector: { matchLabels: { ...opts.operatorPodLabels } },
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': opts.operatorNamespace } },
        };
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: ownedMetadata(job, networkPolicyName(name), 'network'),
    spec: {
      podSelector: { matchLabels: workerSelector(name) },
      policyTypes: ['Ingress'],
      ingress: [
        {
          _from: [{ podSelector: { matchLabels: workerSelector(name) } }],
          ports: [
            { protocol: 'TCP', port: GRPC_PORT },
            { protocol: 'TCP', port: STATUS_PORT },
            { protocol: 'TCP', port: DATA_PORT },
          ],
        },
        { _from: [operatorPeer], ports: [{ protocol: 'TCP', port: STATUS_PORT }] },
      ],
    },
  };
}
