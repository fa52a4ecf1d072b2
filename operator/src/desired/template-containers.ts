/**
 * The template's own containers in a JCL pod (worker or evaluation): its init containers, then its
 * sidecars as native sidecars (init containers with restartPolicy Always, Kubernetes >= 1.29). A sidecar
 * in `containers` would keep the pod Running after the worker or `jcl eval` exited, so the job could never
 * succeed; as a native sidecar it starts after the init containers, runs beside the main container and is
 * stopped by the kubelet once it exits. Both get the restricted container context where they leave it unset.
 */
import type { V1Container } from '@kubernetes/client-node';
import type { JCLTrainingJob } from '../api/status-schema.ts';
import { userContainer } from './pod-parts.ts';

/** spec.initContainers for a JCL pod of `job`, or undefined when the template has neither kind. */
export function templateInitContainers(job: JCLTrainingJob): V1Container[] | undefined {
  const { initContainers = [], sidecars = [] } = job.spec.template;
  const out = [
    ...initContainers.map(userContainer),
    ...sidecars.map((c): V1Container => ({ ...userContainer(c), restartPolicy: 'Always' })),
  ];
  return out.length > 0 ? out : undefined;
}

/** `{ initContainers }` for a pod spec when there are any, else nothing (the field stays absent). */
export function withInitContainers(c: V1Container[] | undefined): { initContainers?: V1Container[] } {
  return c ? { initContainers: c } : {};
}
