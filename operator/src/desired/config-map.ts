/** The ConfigMap with the validated training config as JSON (first start and gang-restart variants). */
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { TrainingConfig } from '../../../worker/src/config/schema.ts';
import { CONFIG_KEY_INITIAL, CONFIG_KEY_RESTART } from '../api/constants.ts';
import type { JCLTrainingJob } from '../api/status-schema.ts';
import { ownedMetadata } from './labels.ts';
import { configMapName } from './names.ts';

export function buildConfigMap(
  job: JCLTrainingJob,
  initial: TrainingConfig,
  restart: TrainingConfig,
): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: ownedMetadata(job, configMapName(job.metadata?.name ?? ''), 'config'),
    data: {
      [CONFIG_KEY_INITIAL]: JSON.stringify(initial, null, 2) + '\n',
      [CONFIG_KEY_RESTART]: JSON.stringify(restart, null, 2) + '\n',
    },
  };
}
