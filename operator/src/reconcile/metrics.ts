/** The operator's Prometheus metrics (prom-client), in their own registry. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { PHASES } from '../api/status-schema.ts';
import type { JCLTrainingJob } from '../api/status-schema.ts';
import { collectRefusals, RefusalTotals, REFUSED_CONNECTIONS_METRIC } from './refusal-metric.ts';

export interface OperatorMetrics {
  registry: Registry;
  reconcileDuration: Histogram<'result'>;
  reconcileErrors: Counter;
  gangRestarts: Counter;
  apiRequests: Counter<'verb' | 'resource'>;
  informerRestarts: Counter<'informer' | 'why'>;
  isLeader: Gauge;
  queueDepth: Gauge;
  /** Fed by each successful rank-0 poll; read at scrape time (jcl_worker_refused_connections_total). */
  workerRefusals: RefusalTotals;
}

/** `listJobs` feeds jcl_operator_jobs{phase} at scrape time from the informer cache (no API calls). */
export function createMetrics(listJobs: () => readonly JCLTrainingJob[]): OperatorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'jcl_operator_' });
  new Gauge({
    name: 'jcl_operator_jobs',
    help: 'JCLTrainingJobs by phase',
    labelNames: ['phase'],
    registers: [registry],
    collect() {
      const counts = new Map<string, number>(PHASES.map((p) => [p, 0]));
      for (const j of listJobs()) {
        const phase = j.status?.phase ?? 'Pending';
        counts.set(phase, (counts.get(phase) ?? 0) + 1);
      }
      for (const [phase, n] of counts) this.set({ phase }, n);
    },
  });
  const workerRefusals = new RefusalTotals();
  new Counter({
    name: REFUSED_CONNECTIONS_METRIC,
    help:
      'Connections and calls refused by each rank of a running job, by reason (wrong_token, bad_hello, ' +
      'wrong_rank_certificate, tls_handshake, hello_timeout, connection_limit); every rank counts and reports ' +
      "to rank 0, the operator polls rank 0's status endpoint (at most once per poll interval); up to 5 s + " +
      'the poll interval old; kept across gang restarts, removed when the job is deleted',
    labelNames: ['namespace', 'job', 'rank', 'reason'],
    registers: [registry],
    collect() {
      collectRefusals(this, workerRefusals);
    },
  });
  return {
    workerRefusals,
    registry,
    reconcileDuration: new Histogram({
      name: 'jcl_operator_reconcile_duration_seconds',
      help: 'Time to reconcile one job',
      labelNames: ['result'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    reconcileErrors: new Counter({
      name: 'jcl_operator_reconcile_errors_total',
      help: 'Reconciles that failed and were retried',
      registers: [registry],
    }),
    gangRestarts: new Counter({
      name: 'jcl_operator_gang_restarts_total',
      help: 'Gang restarts of all jobs',
      registers: [registry],
    }),
    apiRequests: new Counter({
      name: 'jcl_operator_api_requests_total',
      help: 'Kubernetes API requests',
      labelNames: ['verb', 'resource'],
      registers: [registry],
    }),
    informerRestarts: new Counter({
      name: 'jcl_operator_informer_restarts_total',
      help: 'Informers restarted after a watch error or stall',
      labelNames: ['informer', 'why'],
      registers: [registry],
    }),
    isLeader: new Gauge({
      name: 'jcl_operator_is_leader',
      help: '1 while this replica leads',
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'jcl_operator_workqueue_depth',
      help: 'Keys waiting in the work queue',
      registers: [registry],
    }),
  };
}
