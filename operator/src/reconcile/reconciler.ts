/**
 * One reconcile of one job: read (cache + at most one progress poll), decide (computeStatus, planActions:
 * pure), write (ONE status write, then the planned creates/deletes, then Events). Like jobset's Reconcile.
 *
 * Error policy (shared/docs/STYLE.md): a job that is gone is done; a status write that lost a
 * resourceVersion race is requeued without acting on the stale decision; AlreadyExists on create means
 * the object is already there (a restarted operator adopts it); anything else is thrown for the work
 * queue to retry with backoff.
 */
import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { describeError, JclError } from '../../../worker/src/util/errors.ts';
import { LABEL_COMPONENT, LABEL_JOB_NAME, STATUS_PORT } from '../api/constants.ts';
import { withDefaults } from '../api/defaults.ts';
import type { JCLTrainingJob, JobStatus } from '../api/status-schema.ts';
import { buildSecret } from '../desired/secret.ts';
import { secretName, serviceName } from '../desired/names.ts';
import type { BuildOptions } from '../desired/options.ts';
import { buildTrainingConfig } from '../desired/training-config.ts';
import {
  computeStatus,
  type CreateFailure,
  type Observed,
  type ProgressReport,
} from '../status/compute-status.ts';
import { podGeneration, podRank } from '../status/observe-pods.ts';
import { apiMessage, apiReason, httpStatus, isConflict, isNotFound } from '../kube/errors.ts';
import type { KubeClient } from '../kube/kube-client.ts';
import { planActions, type Action, type SupportKind } from './plan.ts';

/** rank 0's status endpoint: worker/src/distributed provides fetchStatus(address, token, timeoutMs) with this shape. */
export type ProgressPoller = (address: string, token: string, timeoutMs: number) => Promise<ProgressReport>;

/** Read-only views of the informer caches. */
export interface ObjectCache {
  getJob(namespace: string, name: string): JCLTrainingJob | undefined;
  /** Pods labelled managed-by jcl-operator in a namespace (workers and evaluators). */
  listPods(namespace: string): readonly V1Pod[];
  listBatchJobs(namespace: string): readonly V1Job[];
  hasService(namespace: string, name: string): boolean;
}

export interface ReconcilerDeps {
  kube: KubeClient;
  cache: ObjectCache;
  opts: BuildOptions;
  log: Logger;
  now?: () => Date;
  poll?: ProgressPoller;
  /** Where rank 0's status endpoint is (default podIP:29501). */
  statusAddress?: (pod: V1Pod) => string | undefined;
  pollIntervalMs?: number;
  pollTimeoutMs?: number;
  newToken?: () => string;
  /** Called with each report rank 0 answered a poll with (metrics), for the gang of `generation`. */
  onPolled?: (job: JCLTrainingJob, generation: number, report: ProgressReport) => void;
  /** Called after a successful status write (metrics). */
  onStatusWritten?: (job: JCLTrainingJob, prev: JobStatus | undefined, next: JobStatus) => void;
}

export interface ReconcileResult {
  /** Come back after this long (deadline, TTL, progress polling). */
  requeueAfterMs?: number;
  /** Lost a race (409): retry with backoff, not an error. */
  conflict?: boolean;
}

export class Reconciler {
  /** Support objects known to exist, per job uid: skips a create call per reconcile. */
  private readonly ensured = new Map<string, Set<SupportKind>>();
  private readonly tokens = new Map<string, string>();
  /** When rank 0 was last polled, per job uid: at most one poll per poll interval. */
  private readonly polledAt = new Map<string, number>();
  /** The resourceVersion of this operator's last status write, per job uid. */
  private readonly written = new Map<string, string>();
  /** The last failed create of a child object, per job uid, until a plan's creates all succeed. */
  private readonly createFailures = new Map<string, CreateFailure>();

  constructor(private readonly deps: ReconcilerDeps) {}

  /** Forget per-job memory when a job is deleted. */
  forget(uid: string): void {
    this.ensured.delete(uid);
    this.tokens.delete(uid);
    this.polledAt.delete(uid);
    this.written.delete(uid);
    this.createFailures.delete(uid);
  }

  /**
   * Whether `job` is exactly the object this operator's last status write produced: its watch event carries
   * nothing new, so it need not be reconciled (no write-triggered reconcile storm).
   */
  isOwnWrite(job: JCLTrainingJob): boolean {
    const rv = job.metadata?.resourceVersion;
    return rv !== undefined && this.written.get(job.metadata?.uid ?? '') === rv;
  }

  async reconcile(namespace: string, name: string): Promise<ReconcileResult> {
    const { cache, kube, log } = this.deps;
    const cached = cache.getJob(namespace, name);
    if (!cached || cached.metadata?.deletionTimestamp) return {};
    const job = withDefaults(cached);
    const uid = job.metadata?.uid ?? '';
    const now = (this.deps.now ?? (() => new Date()))();
    const jlog = log.child({ job: `${namespace}/${name}` });

    // Read.
    const pods = cache.listPods(namespace).filter((p) => p.metadata?.labels?.[LABEL_JOB_NAME] === name);
    const workerPods = pods.filter((p) => p.metadata?.labels?.[LABEL_COMPONENT] === 'worker');
    const evalPods = pods.filter((p) => p.metadata?.labels?.[LABEL_COMPONENT] === 'eval');
    const evalJobs = cache
      .listBatchJobs(namespace)
      .filter((j) => j.metadata?.labels?.[LABEL_JOB_NAME] === name);
    let configs:
      | { initial: ReturnType<typeof buildTrainingConfig>; restart: ReturnType<typeof buildTrainingConfig> }
      | undefined;
    let specProblem: string | undefined;
    try {
      configs = { initial: buildTrainingConfig(job, false), restart: buildTrainingConfig(job, true) };
    } catch (err) {
      specProblem =
        err instanceof JclError && err.details.length > 0 ? err.details.join('; ') : describeError(err);
    }
    const progress = await this.pollProgress(job, workerPods, now, jlog);

    // Decide.
    const observed: Observed = {
      workerPods,
      evalJobs,
      evalPods,
      progress,
      specProblem,
      createFailure: this.createFailures.get(uid),
    };
    const { status, events } = computeStatus(job, observed, now);

    // Write: the one status write first, so no action is taken on a decision that lost a race.
    if (!isDeepStrictEqual(status, cached.status ?? {})) {
      try {
        const stored = await kube.replaceStatus({ ...cached, status });
        const rv = stored?.metadata?.resourceVersion;
        if (rv) this.written.set(uid, rv);
        this.deps.onStatusWritten?.(job, cached.status, status);
      } catch (err) {
        if (isNotFound(err)) return {};
        if (isConflict(err)) {
          jlog.debug('status write conflict; requeue');
          return { conflict: true };
        }
        throw new Error(`write status of ${namespace}/${name}`, { cause: err });
      }
    }
    // Events are best-effort and go out alongside the actions, not before them.
    const recording = Promise.all(
      events.map((ev) => {
        jlog.info({ reason: ev.reason, phase: status.phase }, ev.message);
        return kube
          .createEvent(job, ev, now)
          .catch((err: unknown) => jlog.warn({ err: describeError(err) }, 'event not recorded'));
      }),
    );

    const plan = planActions({
      job,
      status,
      workerPods,
      now,
      opts: this.deps.opts,
      configs,
      evalJobNames: new Set(evalJobs.map((j) => j.metadata?.name ?? '')),
      pollIntervalMs: this.pollIntervalMs(),
    });
    // The actions of one plan are independent (a pod may be created before its ConfigMap: the kubelet
    // waits for it), so they run concurrently: a job's gang appears in one round trip, not seven.
    const settled = await Promise.allSettled(plan.actions.map((action) => this.execute(job, action, jlog)));
    await recording;
    const failures = settled.flatMap((r, i) =>
      r.status === 'rejected' && !(isNotFound(r.reason) && plan.actions[i].kind === 'deleteJob')
        ? [{ action: plan.actions[i], err: r.reason as unknown }]
        : [],
    );
    const createFailed = failures.find((f) => f.action.kind === 'create' || f.action.kind === 'ensure');
    if (createFailed) await this.recordCreateFailure(job, createFailed.action, createFailed.err, now, jlog);
    else if (plan.actions.some((a) => a.kind === 'create' || a.kind === 'ensure'))
      this.createFailures.delete(uid);
    if (failures.length > 0) {
      const first = createFailed ?? failures[0];
      const line = createFailed ? this.createFailures.get(uid)?.message : apiMessage(first.err);
      throw new Error(
        `${failures.length} of ${plan.actions.length} actions failed for ${namespace}/${name}: ${line}`,
      );
    }
    if (status.phase === 'Succeeded' || status.phase === 'Failed') this.ensured.delete(uid);
    return plan.requeueAfterMs === undefined ? {} : { requeueAfterMs: plan.requeueAfterMs };
  }

  /** Remember a failed create for the next status, and say it once in an Event (not on every retry). */
  private async recordCreateFailure(
    job: JCLTrainingJob,
    action: Action,
    err: unknown,
    now: Date,
    jlog: Logger,
  ): Promise<void> {
    const uid = job.metadata?.uid ?? '';
    const failure = describeCreateFailure(job, action, err);
    const before = this.createFailures.get(uid);
    this.createFailures.set(uid, failure);
    if (before?.message === failure.message) return;
    jlog.warn({ reason: failure.reason }, failure.message);
    await this.deps.kube
      .createEvent(job, { type: 'Warning', reason: 'CreateFailed', message: failure.message }, now)
      .catch((e: unknown) => jlog.warn({ err: describeError(e) }, 'event not recorded'));
  }

  private async execute(job: JCLTrainingJob, action: Action, jlog: Logger): Promise<void> {
    const { kube } = this.deps;
    const ns = job.metadata?.namespace ?? '';
    const name = job.metadata?.name ?? '';
    switch (action.kind) {
      case 'ensure': {
        const uid = job.metadata?.uid ?? '';
        let done = this.ensured.get(uid);
        if (!done) this.ensured.set(uid, (done = new Set<SupportKind>()));
        if (
          action.what === 'service'
            ? this.deps.cache.hasService(ns, serviceName(name))
            : done.has(action.what)
        )
          return;
        let object = action.object;
        if (action.what === 'secret') {
          const token = (this.deps.newToken ?? (() => randomBytes(32).toString('base64url')))();
          object = buildSecret(job, token);
          await createOrAdopt(kube, object).then((created) => created && this.tokens.set(uid, token));
        } else if (object) {
          await createOrAdopt(kube, object);
        }
        if (action.what !== 'service') done.add(action.what);
        return;
      }
      case 'create':
        if (await createOrAdopt(kube, action.object))
          jlog.debug({ kind: action.object.kind, name: action.object.metadata?.name }, 'created');
        return;
      case 'annotatePod':
        jlog.info(
          { pod: action.name, reason: action.reason, annotations: action.annotations },
          'annotating pod',
        );
        await kube.annotatePod(ns, action.name, action.annotations).catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
        return;
      case 'deletePod':
        jlog.info({ pod: action.name, reason: action.reason }, 'deleting pod');
        try {
          if (action.annotateFirst) await kube.annotatePod(ns, action.name, action.annotateFirst);
          await kube.deletePod(ns, action.name);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
        return;
      case 'deleteJob':
        jlog.info({ reason: action.reason }, 'deleting finished job');
        await kube.deleteTrainingJob(ns, name, job.metadata?.uid ?? '');
        return;
    }
  }

  private pollIntervalMs(): number {
    return this.deps.pollIntervalMs ?? 10_000;
  }

  /** Poll rank 0 (at most once per poll interval) while the gang runs; a failed poll is no news (the pods tell us about real failures). */
  private async pollProgress(
    job: JCLTrainingJob,
    workerPods: readonly V1Pod[],
    now: Date,
    jlog: Logger,
  ): Promise<ProgressReport | undefined> {
    const poll = this.deps.poll;
    if (!poll || job.status?.phase !== 'Running') return undefined;
    const uid = job.metadata?.uid ?? '';
    const last = this.polledAt.get(uid);
    if (last !== undefined && now.getTime() - last < this.pollIntervalMs()) return undefined;
    const gen = job.status.restartGeneration ?? 0;
    const rank0 = workerPods.find(
      (p) => podRank(p) === 0 && podGeneration(p) === gen && p.status?.phase === 'Running',
    );
    if (!rank0) return undefined;
    const address = (this.deps.statusAddress ?? defaultStatusAddress)(rank0);
    if (!address) return undefined;
    this.polledAt.set(uid, now.getTime());
    try {
      let token = this.tokens.get(uid);
      if (token === undefined) {
        token = await this.deps.kube.readToken(
          job.metadata?.namespace ?? '',
          secretName(job.metadata?.name ?? ''),
        );
        if (token === undefined) return undefined;
        this.tokens.set(uid, token);
      }
      const report = await poll(address, token, this.deps.pollTimeoutMs ?? 2_000);
      this.deps.onPolled?.(job, gen, report);
      return report;
    } catch (err) {
      jlog.debug({ err: describeError(err), address }, 'progress poll failed');
      return undefined;
    }
  }
}

const defaultStatusAddress = (pod: V1Pod): string | undefined =>
  pod.status?.podIP ? `${pod.status.podIP}:${STATUS_PORT}` : undefined;

const SUPPORT_KINDS: Record<SupportKind, string> = {
  service: 'Service',
  configMap: 'ConfigMap',
  secret: 'Secret',
  networkPolicy: 'NetworkPolicy',
  podGroup: 'PodGroup',
};

/** One readable line: which object, the apiserver's reason, and its message (no nested JSON). */
export function describeCreateFailure(job: JCLTrainingJob, action: Action, err: unknown): CreateFailure {
  const object = action.kind === 'create' || action.kind === 'ensure' ? action.object : undefined;
  const kind = object?.kind ?? (action.kind === 'ensure' ? SUPPORT_KINDS[action.what] : 'object');
  const objName =
    object?.metadata?.name ??
    (action.kind === 'ensure' && action.what === 'secret' ? secretName(job.metadata?.name ?? '') : '?');
  const reason =
    apiReason(err) ?? (httpStatus(err) === undefined ? 'RequestFailed' : `HTTP${httpStatus(err)}`);
  const text = apiMessage(err).replace(/\s+/g, ' ').trim();
  return { reason, message: `cannot create ${kind} ${objName}: ${reason}: ${text}` };
}

/** Create; true if created, false if it already existed (adopted). */
async function createOrAdopt(
  kube: KubeClient,
  object: Parameters<KubeClient['create']>[0],
): Promise<boolean> {
  try {
    await kube.create(object);
    return true;
  } catch (err) {
    // On create, 409 can only mean AlreadyExists.
    if (httpStatus(err) === 409) return false;
    throw err;
  }
}
