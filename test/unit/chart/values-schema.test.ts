/**
 * values.schema.json (and the chart's cross-field checks) refuse a wrong value at install time with a
 * message that names the field: table-driven, each through the real `helm template`.
 */
import { describe, expect, it } from 'vitest';
import { renderWith } from './render-with.ts';

const cases: Array<[string, Record<string, unknown>, string]> = [
  ['replicas above 2', { replicas: 3 }, "at '/replicas': maximum: got 3, want 2"],
  ['replicas not an integer', { replicas: 'two' }, "at '/replicas': got string, want integer"],
  [
    'an unknown log level',
    { logLevel: 'loud' },
    "at '/logLevel': value must be one of 'trace', 'debug', 'info', 'warn', 'error'",
  ],
  [
    'a namespace that is not a DNS label',
    { watchNamespaces: ['Team_A'] },
    "at '/watchNamespaces/0': 'Team_A' does not match pattern",
  ],
  [
    'an unknown pull policy',
    { image: { repository: 'x/y', pullPolicy: 'Sometimes' } },
    "at '/image/pullPolicy': value must be one of 'Always', 'IfNotPresent', 'Never'",
  ],
  ['a misspelt top-level key', { replica: 2 }, "additional properties 'replica' not allowed"],
  ['metrics port 0', { metrics: { port: 0 } }, "at '/metrics/port': minimum: got 0, want 1"],
  [
    'running as root',
    { podSecurityContext: { runAsNonRoot: false, seccompProfile: { type: 'RuntimeDefault' } } },
    "at '/podSecurityContext/runAsNonRoot': value must be true",
  ],
  [
    'no seccomp profile (null removes the default)',
    { podSecurityContext: { seccompProfile: null } },
    "at '/podSecurityContext': missing property 'seccompProfile'",
  ],
  [
    'privilege escalation',
    { securityContext: { allowPrivilegeEscalation: true, capabilities: { drop: ['ALL'] } } },
    "at '/securityContext/allowPrivilegeEscalation': value must be false",
  ],
  [
    'capabilities not dropped',
    { securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['NET_RAW'] } } },
    "at '/securityContext/capabilities/drop/0': value must be 'ALL'",
  ],
  [
    'an empty worker command',
    { worker: { image: { repository: 'x/y' }, command: '' } },
    "at '/worker/command': minLength: got 0, want 1",
  ],
  [
    'a pull secret without a name',
    { imagePullSecrets: [{}] },
    "at '/imagePullSecrets/0': missing property 'name'",
  ],
  [
    'an extra arg that is not a flag',
    { extraArgs: ['oops'] },
    "at '/extraArgs/0': 'oops' does not match pattern '^--'",
  ],
  [
    '2 replicas without leader election',
    { replicas: 2, leaderElection: { enabled: false } },
    'replicas: 2 replicas need leaderElection.enabled=true',
  ],
  [
    'a ServiceMonitor without the metrics Service',
    { metrics: { port: 8080, service: { enabled: false }, serviceMonitor: { enabled: true } } },
    'metrics.serviceMonitor.enabled: needs metrics.service.enabled=true',
  ],
];

describe('values.schema.json', () => {
  it.each(cases)('rejects %s', (_what, values, message) => {
    expect(() => renderWith(values)).toThrow(message);
  });

  it('accepts the documented settings', () => {
    expect(() =>
      renderWith({
        replicas: 2,
        watchNamespaces: ['team-a'],
        logLevel: 'warn',
        extraArgs: ['--poll-interval-ms=5000'],
      }),
    ).not.toThrow();
  });
});
