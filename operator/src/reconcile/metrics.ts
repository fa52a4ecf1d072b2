/** The operator's Prometheus metrics (prom-client), in their own registry. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { PHASES } from '../api/status-schema.ts';
import type { JCLTrainingJob } from '../api/status-schema.ts';

export interface OperatorMetrics {
  registry: Registry;
  reconcileDuration: Histogram<'result'>;
  reconcileErrors: Counter;
  gangRestarts: Counter;
  apiRequests: Counter<'verb' | 'resource'>;
  informerRestarts: Counter<'informer' | 'why'>;
  isLeader: Gauge;
  queueDepth: Gauge;
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
  return {
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
