import { describe, expect, it } from 'vitest';
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { buildHostsEntries, renderHosts } from './hosts-file.ts';

const pod = (name: string, labels: Record<string, string>, subdomain?: string): V1Pod => ({
  metadata: { name, namespace: 'ns1', labels },
  spec: { hostname: name, subdomain, containers: [] },
});

describe('buildHostsEntries', () => {
  it('maps pod FQDNs and selecting Services to pod IPs, per namespace', () => {
    const pods = [
      { pod: pod('job-0', { job: 'j' }, 'j-svc'), ip: '127.7.0.2' },
      { pod: pod('job-1', { job: 'j' }, 'j-svc'), ip: '127.7.0.3' },
      { pod: pod('other', { app: 'x' }), ip: '127.7.0.4' },
    ];
    const services: V1Service[] = [
      { metadata: { name: 'j-svc', namespace: 'ns1' }, spec: { clusterIP: 'None', selector: { job: 'j' } } },
      { metadata: { name: 'j-svc', namespace: 'ns2' }, spec: { clusterIP: 'None', selector: { job: 'j' } } },
      { metadata: { name: 'no-selector', namespace: 'ns1' }, spec: {} },
    ];
    expect(renderHosts(buildHostsEntries(pods, services))).toBe(
      [
        '# written by test/harness/node-harness.ts',
        '127.7.0.2 j-svc.ns1.svc.cluster.local job-0.j-svc.ns1.svc.cluster.local',
        '127.7.0.3 j-svc.ns1.svc.cluster.local job-1.j-svc.ns1.svc.cluster.local',
        '',
      ].join('\n'),
    );
  });
});
