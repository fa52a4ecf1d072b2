/**
 * The per-job shared secret every gRPC call carries (JCL_TOKEN_FILE). The token is an argument so the
 * builder stays pure; the reconciler draws it from crypto once and never rotates it while the job lives
 * (a rotated token would lock running workers out of each other).
 */
import type { V1Secret } from '@kubernetes/client-node';
import { TOKEN_KEY } from '../api/constants.ts';
import type { JCLTrainingJob } from '../api/status-schema.ts';
import { ownedMetadata } from './labels.ts';
import { secretName } from './names.ts';

export function buildSecret(job: JCLTrainingJob, token: string): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: ownedMetadata(job, secretName(job.metadata?.name ?? ''), 'token'),
    type: 'Opaque',
    immutable: true,
    stringData: { [TOKEN_KEY]: token },
  };
}
