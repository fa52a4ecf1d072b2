/**
 * Connection reuse for @kubernetes/client-node 1.x, which builds a new https.Agent for every request
 * (KubeConfig#createAgent): every API call then pays a TCP + TLS handshake, which capped the operator
 * at ~60 requests/s on a 2-core machine (docs/BENCHMARKS.md, "Operator"). This wraps createAgent so all
 * requests to one apiserver share one keep-alive agent. It patches a non-public method, so it checks
 * the method exists and leaves the KubeConfig untouched (only slower) when it does not.
 */
import type { KubeConfig } from '@kubernetes/client-node';

type AgentFactory = (cluster: { server?: string } | null, options: Record<string, unknown>) => unknown;

/** Make `kc` reuse connections; returns whether the patch applied. */
export function shareConnections(kc: KubeConfig): boolean {
  const target = kc as unknown as { createAgent?: AgentFactory };
  if (typeof target.createAgent !== 'function') return false;
  const original = target.createAgent.bind(kc);
  const agents = new Map<string, unknown>();
  target.createAgent = (cluster, options) => {
    // One identity per KubeConfig: the options (CA, client cert) are the same for every call.
    const key = cluster?.server ?? '';
    let agent = agents.get(key);
    if (agent === undefined) {
      // No maxSockets cap: every informer's watch holds a socket for its lifetime.
      agent = original(cluster, { ...options, keepAlive: true });
      agents.set(key, agent);
    }
    return agent;
  };
  return true;
}
