import { describe, expect, it } from 'vitest';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { expandVarRefs, resolveContainerArgv, resolveContainerEnv, rewritePaths } from './pod-env.ts';

const mapping = [
  { containerPath: '/data', localPath: '/tmp/h/pvc/data' },
  { containerPath: '/data/ckpt', localPath: '/tmp/h/ckpt' },
  { containerPath: '/dev/termination-log', localPath: '/tmp/h/termination-log-main' },
];

describe('expandVarRefs', () => {
  it.each([
    ['$(A)-$(B)', 'x-y'],
    ['$(MISSING)', '$(MISSING)'],
    ['$$(A)', '$(A)'],
    ['no refs', 'no refs'],
  ])('%s -> %s', (input, expected) => {
    expect(expandVarRefs(input, { A: 'x', B: 'y' })).toBe(expected);
  });
});

describe('rewritePaths', () => {
  it.each([
    ['/data', '/tmp/h/pvc/data'],
    ['/data/run-1', '/tmp/h/pvc/data/run-1'],
    ['/data/ckpt/step-5', '/tmp/h/ckpt/step-5'],
    ['--out=/data/x', '--out=/tmp/h/pvc/data/x'],
    ['{"dir":"/data"}', '{"dir":"/tmp/h/pvc/data"}'],
    ['/database', '/database'],
    ['/x/data', '/x/data'],
    ['/dev/termination-log', '/tmp/h/termination-log-main'],
  ])('%s -> %s', (input, expected) => {
    expect(rewritePaths(input, mapping)).toBe(expected);
  });

  it('rewrites each occurrence once, even when a local path starts with another mount path', () => {
    const withTmp = [...mapping, { containerPath: '/tmp', localPath: '/tmp/h/emptydir/tmp' }];
    expect(rewritePaths('/data/x:/tmp/y', withTmp)).toBe('/tmp/h/pvc/data/x:/tmp/h/emptydir/tmp/y');
    expect(rewritePaths('/tmp', withTmp)).toBe('/tmp/h/emptydir/tmp');
  });

  it('leaves preserved host paths (identity entries) alone even under a mounted /tmp', () => {
    const m = [
      { containerPath: '/tmp/clone', localPath: '/tmp/clone' },
      { containerPath: '/tmp', localPath: '/root/h/emptydir/tmp' },
    ];
    expect(rewritePaths('node /tmp/clone/bin/jcl.js --out /tmp/x', m)).toBe(
      'node /tmp/clone/bin/jcl.js --out /root/h/emptydir/tmp/x',
    );
  });
});

describe('resolveContainerEnv', () => {
  const pod: V1Pod = {
    metadata: {
      name: 'job-0',
      namespace: 'ns1',
      uid: 'u1',
      labels: { rank: '0' },
      annotations: { 'a/b': 'c' },
    },
    spec: { nodeName: 'n1', containers: [] },
  };
  const container: V1Container = {
    name: 'main',
    envFrom: [{ configMapRef: { name: 'cm' }, prefix: 'CM_' }],
    env: [
      { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'RANK', valueFrom: { fieldRef: { fieldPath: "metadata.labels['rank']" } } },
      { name: 'ANN', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['a/b']" } } },
      { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
      { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 's', key: 'token' } } },
      { name: 'RUN_DIR', value: '/data/$(POD)' },
    ],
  };
  const data = { configMaps: new Map([['cm', { X: '1' }]]), secrets: new Map([['s', { token: 't0k' }]]) };

  it('resolves every source, expands references and maps paths', () => {
    expect(
      resolveContainerEnv(pod, container, data, { podIP: '127.9.0.2', hostIP: '127.0.0.1' }, mapping),
    ).toEqual({
      CM_X: '1',
      POD: 'job-0',
      RANK: '0',
      ANN: 'c',
      IP: '127.9.0.2',
      NODE: 'n1',
      TOKEN: 't0k',
      RUN_DIR: '/tmp/h/pvc/data/job-0',
    });
  });

  it('names the missing secret key', () => {
    const missing = { configMaps: data.configMaps, secrets: new Map() };
    expect(() => resolveContainerEnv(pod, container, missing, { podIP: '', hostIP: '' }, mapping)).toThrow(
      "secretKeyRef: secret 's' key 'token' not found",
    );
  });

  it('builds argv from command, args and the image entrypoint', () => {
    const env = { POD: 'job-0' };
    expect(
      resolveContainerArgv(
        { name: 'm', command: ['jcl'], args: ['worker', '--dir=/data/$(POD)'] },
        env,
        mapping,
      ),
    ).toEqual(['jcl', 'worker', '--dir=/tmp/h/pvc/data/job-0']);
    expect(
      resolveContainerArgv({ name: 'm', image: 'img', args: ['x'] }, env, mapping, ['node', 'e.js']),
    ).toEqual(['node', 'e.js', 'x']);
    expect(() => resolveContainerArgv({ name: 'm', image: 'img' }, env, mapping)).toThrow(
      "no entrypoint known for image 'img'",
    );
  });
});
