import { describe, expect, it } from 'vitest';
import { KubeConfig } from '@kubernetes/client-node';
import { shareConnections } from './shared-agent.ts';

const load = () => {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
};

describe('shareConnections', () => {
  it('hands every request the same keep-alive agent instead of a new one', async () => {
    const plain = load();
    const a1 = (await plain.applyToFetchOptions({})).agent;
    const a2 = (await plain.applyToFetchOptions({})).agent;
    expect(a1).not.toBe(a2);
    const shared = load();
    expect(shareConnections(shared)).toBe(true);
    const b1 = (await shared.applyToFetchOptions({})).agent as { keepAlive?: boolean };
    const b2 = (await shared.applyToFetchOptions({})).agent;
    expect(b1).toBe(b2);
    expect(b1.keepAlive).toBe(true);
  });
});
