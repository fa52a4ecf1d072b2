/**
 * ReadWriteOnce claims as a cloud's attach/detach controller treats them (issue 18): a block volume is
 * attached to one node at a time, so a pod that mounts a ReadWriteOnce claim already in use by a live pod
 * on another node waits (ContainerCreating, "Multi-Attach error") until that pod is gone. Without this the
 * node harness would let every rank mount every claim, and a job that needs a shared volume would pass.
 * Pure decisions; node-harness.ts reads the claims and holds the pods.
 */
import type { V1Pod } from '@kubernetes/client-node';

/** The claims a pod mounts, as "<namespace>/<claim>". */
export function podClaims(pod: V1Pod): string[] {
  const ns = pod.metadata?.namespace ?? 'default';
  return (pod.spec?.volumes ?? []).flatMap((v) =>
    v.persistentVolumeClaim ? [`${ns}/${v.persistentVolumeClaim.claimName}`] : [],
  );
}

/** True for a claim only one node may attach: ReadWriteOnce (or ReadWriteOncePod) and nothing wider. */
export function isSingleNode(accessModes: readonly string[] | undefined): boolean {
  const modes = accessModes ?? [];
  return (
    modes.some((m) => m === 'ReadWriteOnce' || m === 'ReadWriteOncePod') &&
    !modes.some((m) => m === 'ReadWriteMany' || m === 'ReadOnlyMany')
  );
}

/**
 * Why `pod` may not start yet, or null: the first of its single-node claims (`singleNode`) that a live
 * pod of `holders` (running on some node, not finished) has attached on another node.
 */
export function attachConflict(
  pod: V1Pod,
  holders: readonly V1Pod[],
  singleNode: (claim: string) => boolean,
): string | null {
  const node = pod.spec?.nodeName;
  for (const claim of podClaims(pod).filter(singleNode)) {
    const other = holders.find(
      (h) =>
        h.metadata?.uid !== pod.metadata?.uid &&
        h.spec?.nodeName !== undefined &&
        h.spec.nodeName !== node &&
        podClaims(h).includes(claim),
    );
    if (other)
      return `Multi-Attach error for volume of claim ${claim}: ReadWriteOnce, already attached to node ${other.spec?.nodeName} for pod ${other.metadata?.name}`;
  }
  return null;
}
