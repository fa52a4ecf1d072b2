import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { attachConflict, isSingleNode, podClaims } from './volume-attach.ts';

const pod = (name: string, node: string | undefined, claims: string[]): V1Pod => ({
  metadata: { name, namespace: 'ns', uid: name },
  spec: {
    nodeName: node,
    containers: [],
    volumes: [
      { name: 'tmp', emptyDir: {} },
      ...claims.map((c) => ({ name: c, persistentVolumeClaim: { claimName: c } })),
    ],
  },
});
const rwo = (claim: string) => claim === 'ns/ckpt';

describe('volume attach (ReadWriteOnce across nodes)', () => {
  it('lists the claims a pod mounts', () => {
    expect(podClaims(pod('a', 'n1', ['ckpt', 'data']))).toEqual(['ns/ckpt', 'ns/data']);
  });

  it.each([
    [['ReadWriteOnce'], true],
    [['ReadWriteOncePod'], true],
    [['ReadWriteMany'], false],
    [['ReadWriteOnce', 'ReadOnlyMany'], false],
    [[], false],
    [undefined, false],
  ])('access modes %j: single node %s', (modes, single) => {
    expect(isSingleNode(modes)).toBe(single);
  });

  it.each([
    ['a holder on another node', pod('r0', 'n1', ['ckpt']), /already attached to node n1 for pod r0/],
    ['a holder on the same node', pod('r0', 'n2', ['ckpt']), null],
    ['a holder of no claim', pod('r0', 'n1', []), null],
    ['a holder of a shared (RWX) claim', pod('r0', 'n1', ['data']), null],
  ])('%s', (_what, holder, expected) => {
    const got = attachConflict(pod('r1', 'n2', ['ckpt', 'data']), [holder], rwo);
    if (expected === null) expect(got).toBeNull();
    else expect(got).toMatch(expected);
  });

  it('never conflicts with the pod itself', () => {
    const p = pod('r0', 'n1', ['ckpt']);
    expect(attachConflict(p, [p], rwo)).toBeNull();
  });
});
