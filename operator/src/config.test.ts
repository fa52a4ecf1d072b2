import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { OPERATOR_FLAGS, OPERATOR_USAGE, parseOperatorConfig } from './config.ts';

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

  // Issue 19: --help left out flags the chart passes (--lease-name) and others it accepts.
  it('documents in --help every flag it accepts and every flag the chart passes', () => {
    for (const f of ['lease-name', 'identity', 'operator-namespace', 'resync-ms', 'leader-elect'])
      expect(OPERATOR_USAGE).toMatch(new RegExp(`^  --${f} `, 'm'));
    const chart = readFileSync(
      fileURLToPath(new URL('../../charts/jcl-operator/templates/deployment.yaml', import.meta.url)),
      'utf8',
    );
    const passed = [...chart.matchAll(/"?--([a-z-]+)[=\s"]/g)].map((m) => m[1]);
    expect(passed.length).toBeGreaterThan(5);
    expect(passed.filter((f) => !OPERATOR_FLAGS.includes(f))).toEqual([]);
    expect(() =>
      parseOperatorConfig(
        OPERATOR_FLAGS.filter((f) => f !== 'help').map((f) => `--${f}=1`),
        {},
      ),
    ).not.toThrow(/unknown flag/);
  });
});
