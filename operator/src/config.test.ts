import { describe, expect, it } from 'vitest';
import { parseOperatorConfig } from './config.ts';

describe('parseOperatorConfig', () => {
  it('applies the defaults', () => {
    const cfg = parseOperatorConfig([], { POD_NAMESPACE: 'jcl-system', POD_NAME: 'op-0' });
    expect({ ...cfg, identity: undefined }).toEqual({
      kubeconfig: undefined,
      namespaces: undefined,
      metricsPort: 8080,
      leaderElect: false,
      leaseNamespace: 'jcl-system',
      leaseName: 'jcl-operator-leader',
      identity: undefined,
      workerImage: 'ghcr.io/jcl-operator/jcl:latest',
      workerCommand: ['node', '/app/bin/jcl.js'],
      logLevel: 'info',
      concurrentReconciles: 16,
      operatorNamespace: 'jcl-system',
      operatorPodLabels: { 'app.kubernetes.io/name': 'jcl-operator' },
      pollIntervalMs: 10_000,
      watchStallMs: 300_000,
      resyncMs: 60_000,
    });
    expect(cfg.identity).toMatch(/^op-0-\d+$/);
  });

  it.each([
    [
      ['--namespaces', 'a,b', '--leader-elect', '--metrics-port=9090'],
      { namespaces: ['a', 'b'], leaderElect: true, metricsPort: 9090 },
    ],
    [['--namespaces', 'all', '--worker-command', 'jcl'], { namespaces: undefined, workerCommand: ['jcl'] }],
    [['--operator-pod-labels', 'app=op,tier=ctl'], { operatorPodLabels: { app: 'op', tier: 'ctl' } }],
  ])('parses %j', (argv, want) => {
    expect(parseOperatorConfig(argv, {})).toMatchObject(want);
  });

  it('reports every bad flag with its value', () => {
    expect(() =>
      parseOperatorConfig(
        ['--metrics-port', '70000', '--log-level', 'loud', '--namespaces', 'Bad_NS', '--frobnicate', 'x'],
        {},
      ),
    ).toThrow(
      'invalid operator flags:\n' +
        '  --frobnicate: unknown flag (see jcl operator --help)\n' +
        '  --log-level: must be one of trace, debug, info, warn, error, got "loud"\n' +
        '  --namespaces: "Bad_NS" is not a namespace name\n' +
        '  --metrics-port: must be an integer in [0, 65535], got "70000"',
    );
  });
});
