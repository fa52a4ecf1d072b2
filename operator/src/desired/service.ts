/** The headless Service that gives every worker a stable DNS name (<pod>.<svc>.<ns>.svc). */
import type { V1Service } from '@kubernetes/client-node';
import { DATA_PORT, GRPC_PORT, STATUS_PORT } from '../api/constants.ts';
import type { JCLTrainingJob } from '../api/status-schema.ts';
import { ownedMetadata, workerSelector } from './labels.ts';
import { serviceName } from './names.ts';

export function buildService(job: JCLTrainingJob): V1Service {
  const name = job.metadata?.name ?? '';
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: ownedMetadata(job, serviceName(name), 'worker'),
    spec: {
      clusterIP: 'None',
      selector: workerSelector(name),
      // Workers resolve rank 0 before it is Ready: rendezvous happens before the readiness it would gate.
      publishNotReadyAddresses: true,
      ports: [
        { name: 'grpc', port: GRPC_PORT, targetPort: GRPC_PORT, protocol: 'TCP' },
        { name: 'status', port: STATUS_PORT, targetPort: STATUS_PORT, protocol: 'TCP' },
        { name: 'data', port: DATA_PORT, targetPort: DATA_PORT, protocol: 'TCP' },
      ],
    },
  };
}
