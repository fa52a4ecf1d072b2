/**
 * Leader election on a coordination.k8s.io/v1 Lease, after client-go's leaderelection package: the
 * leader renews every retryPeriod; a candidate takes the lease once it has seen the same record
 * unchanged for leaseDuration (measured on its own clock, so clock skew between replicas does not
 * matter); a leader that cannot renew within renewDeadline steps down. Writes carry the resourceVersion,
 * so two candidates can never both win a takeover.
 */
import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { httpStatus } from './errors.ts';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  log: Logger;
}

/**
 * MicroTime wants exactly six fractional digits (RFC3339Micro); Date#toISOString has three. client-node
 * has no V1MicroTime model, so read MicroTimes stay the apiserver's strings and are written back as is.
 */
export const microTime = (d: Date): string => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

/**
 * Sleep `ms` or until `signal` aborts. The abort listener is removed when the timer fires: the renew
 * loop sleeps every retry period on one signal, and leaked listeners tripped MaxListenersExceededWarning.
 */
export const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise<void>((resolve) => {
    const onAbort = () => (clearTimeout(t), resolve());
    const t = setTimeout(() => (signal.removeEventListener('abort', onAbort), resolve()), ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });

export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private readonly leaseMs: number;
  private readonly renewMs: number;
  private readonly retryMs: number;
  private observedRecord = '';
  private observedAt = 0;

  constructor(
    kc: KubeConfig,
    private readonly o: LeaderElectionOptions,
  ) {
    this.api = kc.makeApiClient(CoordinationV1Api);
    this.leaseMs = o.leaseDurationMs ?? 15_000;
    this.renewMs = o.renewDeadlineMs ?? 10_000;
    this.retryMs = o.retryPeriodMs ?? 2_000;
  }

  /**
   * Block until this replica leads (or `signal` aborts: returns false), then call `lead` with a signal
   * that aborts when leadership is lost. Resolves when leadership ends; releases the lease on the way out.
   */
  async run(signal: AbortSignal, lead: (lost: AbortSignal) => Promise<void>): Promise<'stopped' | 'lost'> {
    while (!signal.aborted && !(await this.tryAcquireOrRenew())) await sleep(this.retryMs, signal);
    if (signal.aborted) return 'stopped';
    this.o.log.info(
      { lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity },
      'became leader',
    );
    const lost = new AbortController();
    const stopWith = () => lost.abort();
    signal.addEventListener('abort', stopWith, { once: true });
    const renewing = (async () => {
      let lastRenew = Date.now();
      while (!lost.signal.aborted) {
        await sleep(this.retryMs, lost.signal);
        if (lost.signal.aborted) break;
        if (await this.tryAcquireOrRenew()) lastRenew = Date.now();
        else if (Date.now() - lastRenew > this.renewMs) {
          this.o.log.error(
            { identity: this.o.identity },
            'leadership lost: lease not renewed within the renew deadline',
          );
          lost.abort();
          return 'lost' as const;
        }
      }
      return 'stopped' as const;
    })();
    await lead(lost.signal);
    lost.abort();
    const outcome = await renewing;
    signal.removeEventListener('abort', stopWith);
    if (outcome === 'stopped') await this.release();
    return outcome;
  }

  /** One acquire-or-renew attempt; true when this replica holds the lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.o;
    const now = new Date();
    const spec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.leaseMs / 1000),
      renewTime: microTime(now),
    };
    try {
      let lease: V1Lease;
      try {
        lease = await this.api.readNamespacedLease({ namespace, name });
      } catch (err) {
        if (httpStatus(err) !== 404) throw err;
        await this.api.createNamespacedLease({
          namespace,
          body: {
            metadata: { name, namespace },
            spec: { ...spec, acquireTime: microTime(now), leaseTransitions: 0 } as never,
          },
        });
        return true;
      }
      const holder = lease.spec?.holderIdentity ?? '';
      const record = `${holder}|${String(lease.spec?.renewTime ?? '')}`;
      if (record !== this.observedRecord) {
        this.observedRecord = record;
        this.observedAt = Date.now();
      }
      const held = holder !== '' && holder !== identity;
      if (held && Date.now() - this.observedAt < this.leaseMs) return false;
      const takeover = holder !== identity;
      const body: V1Lease = {
        ...lease,
        spec: {
          ...lease.spec,
          ...spec,
          acquireTime: (takeover ? microTime(now) : lease.spec?.acquireTime) as never,
          leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + (takeover ? 1 : 0),
        } as never,
      };
      await this.api.replaceNamespacedLease({ namespace, name, body });
      return true;
    } catch (err) {
      this.o.log.debug({ err: String((err as Error)?.message ?? err) }, 'lease acquire/renew failed');
      return false;
    }
  }

  /** Hand the lease back so another replica takes over at once instead of after leaseDuration. */
  private async release(): Promise<void> {
    const { namespace, name, identity } = this.o;
    try {
      const lease = await this.api.readNamespacedLease({ namespace, name });
      if (lease.spec?.holderIdentity !== identity) return;
      const spec = {
        ...lease.spec,
        holderIdentity: '',
        leaseDurationSeconds: 1,
        renewTime: microTime(new Date()),
      } as Record<string, unknown>;
      await this.api.replaceNamespacedLease({ namespace, name, body: { ...lease, spec: spec as never } });
    } catch (err) {
      this.o.log.warn({ err: String((err as Error)?.message ?? err) }, 'lease release failed');
    }
  }
}
