/**
 * `jcl operator`: wires config → logger → Kubernetes client → informers → reconciler → controller, with
 * optional leader election, metrics and graceful shutdown (SIGTERM/SIGINT or the caller's AbortSignal).
 * The process exits 0 after a clean stop, 1 on bad flags or a lost leadership (the pod restarts and
 * campaigns again, as controller-runtime managers do).
 */
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { describeError } from '../../worker/src/util/errors.ts';
import { OPERATOR_USAGE, parseOperatorConfig, wantsHelp, type OperatorConfig } from './config.ts';
import type { BuildOptions } from './desired/options.ts';
import { InformerSet } from './kube/informers.ts';
import { ClientNodeKube } from './kube/kube-client.ts';
import { LeaderElector } from './kube/leader-election.ts';
import { startMetricsServer } from './kube/metrics-server.ts';
import { shareConnections } from './kube/shared-agent.ts';
import { grpcProgressPoller } from './kube/progress-poller.ts';
import { Controller } from './reconcile/controller.ts';
import { createMetrics } from './reconcile/metrics.ts';
import { Reconciler, type ProgressPoller, type ReconcilerDeps } from './reconcile/reconciler.ts';

export interface RunOptions {
  /** Abort to stop the operator (tests, embedding); signals are handled only when absent. */
  signal?: AbortSignal;
  env?: Readonly<Record<string, string | undefined>>;
  /** Replace the gRPC progress poller (tests). */
  poll?: ProgressPoller;
  /** Where rank 0's status endpoint is (tests that run pods as local processes). */
  statusAddress?: ReconcilerDeps['statusAddress'];
  /** Called once the metrics server listens (tests that pick port 0). */
  onMetricsPort?: (port: number) => void;
}

export async function runOperator(argv: string[], run: RunOptions = {}): Promise<number> {
  if (wantsHelp(argv)) {
    console.log(OPERATOR_USAGE);
    return 0;
  }
  let cfg: OperatorConfig;
  try {
    cfg = parseOperatorConfig(argv, run.env ?? process.env);
  } catch (err) {
    console.error(describeError(err));
    return 64;
  }
  const log = pino({ level: cfg.logLevel, base: { component: 'jcl-operator', identity: cfg.identity } });
  const kc = new KubeConfig();
  try {
    if (cfg.kubeconfig) kc.loadFromFile(cfg.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    log.error({ err: describeError(err) }, 'cannot load kubeconfig');
    return 66;
  }
  if (!shareConnections(kc))
    log.warn('client-node without KubeConfig#createAgent: API connections are not reused');

  const stop = new AbortController();
  const onSignal = () => stop.abort();
  if (run.signal) run.signal.addEventListener('abort', onSignal, { once: true });
  else {
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }

  let informers: InformerSet | undefined;
  let synced = false;
  const metrics = createMetrics(() => informers?.listJobs() ?? []);
  const count = (verb: string, resource: string) => metrics.apiRequests.inc({ verb, resource });
  const server =
    cfg.metricsPort > 0 || run.onMetricsPort
      ? await startMetricsServer(cfg.metricsPort, metrics.registry, () => synced)
      : undefined;
  if (server) run.onMetricsPort?.(server.port);
  log.info(
    { namespaces: cfg.namespaces ?? 'all', metricsPort: server?.port, leaderElect: cfg.leaderElect },
    'starting',
  );
  if (cfg.operatorNamespace === '')
    log.warn(
      'neither --operator-namespace nor POD_NAMESPACE is set: job NetworkPolicies admit the operator only from the job namespace, so progress polls from elsewhere are blocked',
    );

  const lead = async (lost: AbortSignal): Promise<void> => {
    metrics.isLeader.set(1);
    const opts: BuildOptions = {
      workerImage: cfg.workerImage,
      workerCommand: cfg.workerCommand,
      operatorPodLabels: cfg.operatorPodLabels,
      operatorNamespace: cfg.operatorNamespace,
      runAsUser: 1000,
    };
    // informers → controller.enqueue → reconciler → informers (its cache): the cycle is closed late.
    // eslint-disable-next-line prefer-const
    let controller: Controller | undefined;
    // eslint-disable-next-line prefer-const
    let reconciler: Reconciler | undefined;
    informers = new InformerSet(
      kc,
      {
        onJobKey: (key) => controller?.enqueue(key),
        onJobDeleted: (job) => {
          controller?.jobDeleted(job);
          metrics.workerRefusals.forget(job.metadata?.uid ?? '');
        },
        ignoreJobUpdate: (job) => reconciler?.isOwnWrite(job) ?? false,
      },
      {
        namespaces: cfg.namespaces,
        stallMs: cfg.watchStallMs,
        log,
        count,
        onRestart: (informer, why) => metrics.informerRestarts.inc({ informer, why }),
      },
    );
    reconciler = new Reconciler({
      kube: new ClientNodeKube(kc, count, cfg.identity),
      cache: informers,
      opts,
      log,
      poll: run.poll ?? grpcProgressPoller(),
      statusAddress: run.statusAddress,
      pollIntervalMs: cfg.pollIntervalMs,
      onPolled: (job, generation, report) => metrics.workerRefusals.observe(job, generation, report.refusals),
      onStatusWritten: (_job, prev, next) => {
        const delta = (next.restarts ?? 0) - (prev?.restarts ?? 0);
        if (delta > 0) metrics.gangRestarts.inc(delta);
      },
    });
    controller = new Controller({
      reconciler,
      listJobs: () => informers?.listJobs() ?? [],
      log,
      metrics,
      workers: cfg.concurrentReconciles,
      resyncMs: cfg.resyncMs,
    });
    await informers.start();
    // Reconcile only on complete caches: a partial pod cache would look like missing pods (duplicates).
    await Promise.race([
      informers.waitForSync(),
      new Promise((r) => lost.addEventListener('abort', r, { once: true })),
    ]);
    if (!lost.aborted) {
      synced = true;
      controller.start();
      log.info('caches synced; reconciling');
      await new Promise((r) => lost.addEventListener('abort', r, { once: true }));
    }
    log.info('stopping: draining in-flight reconciles');
    await controller.stop();
    await informers.stop();
    synced = false;
    metrics.isLeader.set(0);
    // The new leader exports them: two replicas exporting one job's series would double every sum().
    metrics.workerRefusals.clear();
  };

  let code = 0;
  try {
    if (cfg.leaderElect) {
      const elector = new LeaderElector(kc, {
        namespace: cfg.leaseNamespace,
        name: cfg.leaseName,
        identity: cfg.identity,
        log,
      });
      const outcome = await elector.run(stop.signal, lead);
      if (outcome === 'lost') code = 1;
    } else {
      await lead(stop.signal);
    }
  } catch (err) {
    log.error({ err: describeError(err) }, 'operator failed');
    code = 1;
  } finally {
    await server?.close();
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    log.info({ code }, 'stopped');
    log.flush?.();
  }
  return code;
}
