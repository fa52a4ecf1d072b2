/**
 * The cluster DNS of the node harness: a hosts file (read by pod-preload.cjs in every pod process) that maps
 * pod FQDNs (<hostname>.<subdomain>.<ns>.svc.cluster.local) and Service names to pod loopback addresses.
 */
import { renameSync, writeFileSync } from 'node:fs';
import type { V1Pod, V1Service } from '@kubernetes/client-node';

/** One running pod as DNS sees it. */
export interface DnsPod {
  pod: V1Pod;
  ip: string;
}

function matchesSelector(pod: V1Pod, selector: Record<string, string> | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  const labels = pod.metadata?.labels ?? {};
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/**
 * Hosts entries (ip -> names). A pod with hostname + subdomain gets its headless-service FQDN; every Service
 * with a selector resolves to the addresses of its selected running pods (a headless Service's A records;
 * for ClusterIP Services this assumes port == targetPort, as there is no kube-proxy).
 */
export function buildHostsEntries(
  pods: readonly DnsPod[],
  services: readonly V1Service[],
): Map<string, Set<string>> {
  const entries = new Map<string, Set<string>>();
  const add = (ip: string, name: string): void => {
    if (!entries.has(ip)) entries.set(ip, new Set());
    entries.get(ip)?.add(name.toLowerCase());
  };
  for (const { pod, ip } of pods) {
    const ns = pod.metadata?.namespace ?? 'default';
    const hostname = pod.spec?.hostname ?? pod.metadata?.name ?? '';
    if (pod.spec?.subdomain) add(ip, `${hostname}.${pod.spec.subdomain}.${ns}.svc.cluster.local`);
    // The dashed-IP pod A record (1-2-3-4.<ns>.pod.cluster.local) is rarely used by workloads; omitted.
  }
  for (const svc of services) {
    const ns = svc.metadata?.namespace ?? 'default';
    for (const { pod, ip } of pods) {
      if ((pod.metadata?.namespace ?? 'default') === ns && matchesSelector(pod, svc.spec?.selector))
        add(ip, `${svc.metadata?.name}.${ns}.svc.cluster.local`);
    }
  }
  return entries;
}

/** Renders entries in /etc/hosts format, sorted for stable output. */
export function renderHosts(entries: ReadonlyMap<string, ReadonlySet<string>>): string {
  const lines = [...entries.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([ip, names]) => `${ip} ${[...names].sort().join(' ')}`);
  return `# written by test/harness/node-harness.ts\n${lines.join('\n')}\n`;
}

/** Atomically replaces `file` (readers never see a half-written table). */
export function writeHostsFile(file: string, content: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, file);
}
