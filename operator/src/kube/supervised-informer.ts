/**
 * One informer (client-node makeInformer) under a supervisor that
 *  - restarts it after a watch error, with exponential backoff (1 s … 30 s);
 *  - relists when its watch has been silent for `stallMs`: client-node watches can stall without an
 *    error (a half-open connection after an apiserver restart or a LB idle timeout), so a silent
 *    informer is replaced by a fresh one. On a quiet cluster this doubles as the periodic relist.
 * The factory is injected, so the supervision is tested without an apiserver.
 */
import type { Informer, KubernetesObject, ObjectCache as ClientCache } from '@kubernetes/client-node';
import type { Logger } from 'pino';

export type Handler<T> = (verb: 'add' | 'update' | 'delete', obj: T) => void;

export interface SupervisorOptions {
  stallMs: number;
  log: Logger;
  onRestart?: (name: string, why: string) => void;
}

/** One resource in one scope, re-created whenever its watch fails or stalls. */
export class SupervisedInformer<T extends KubernetesObject> {
  private current: (Informer<T> & ClientCache<T>) | undefined;
  private lastActivity = Date.now();
  private failures = 0;
  private stopped = true;
  private timer: NodeJS.Timeout | undefined;
  private synced!: Promise<void>;
  private markSynced: () => void = () => {};
  /** Informers this supervisor stopped: their closing errors are expected. */
  private readonly retired = new WeakSet<object>();

  constructor(
    readonly name: string,
    private readonly make: () => Informer<T> & ClientCache<T>,
    private readonly handler: Handler<T>,
    private readonly opts: SupervisorOptions,
  ) {
    this.resetSynced();
  }

  private resetSynced(): void {
    this.synced = new Promise((resolve) => (this.markSynced = resolve));
  }

  /** Resolves after the first successful list. */
  waitForSync(): Promise<void> {
    return this.synced;
  }

  list(namespace?: string): readonly T[] {
    return this.current?.list(namespace) ?? [];
  }

  get(name: string, namespace?: string): T | undefined {
    return this.current?.get(name, namespace);
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.launch();
    const check = Math.max(50, Math.min(this.opts.stallMs / 4, 30_000));
    this.timer = setInterval(() => {
      if (Date.now() - this.lastActivity > this.opts.stallMs) this.restart('no watch activity', 0);
    }, check);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.current?.stop();
  }

  private launch(): void {
    const inf = this.make();
    this.current = inf;
    const touch = () => {
      if (this.current === inf) this.lastActivity = Date.now();
    };
    inf.on('add', (o) => (touch(), this.handler('add', o)));
    inf.on('update', (o) => (touch(), this.handler('update', o)));
    inf.on('delete', (o) => (touch(), this.handler('delete', o)));
    inf.on('connect', touch);
    inf.on('error', (err) => {
      // A watch we stopped ourselves (a relist of a quiet watch) ends with an abort error: not a failure.
      if (this.current !== inf || this.stopped || this.retired.has(inf)) return;
      this.failures++;
      const delay = Math.min(30_000, 1000 * 2 ** Math.min(this.failures - 1, 5));
      this.opts.log.warn(
        { informer: this.name, err: String(err?.message ?? err), retryInMs: delay },
        'watch failed; restarting',
      );
      this.restart('watch error', delay);
    });
    this.lastActivity = Date.now();
    inf.start().then(
      () => {
        if (this.current !== inf) return;
        this.failures = 0;
        this.markSynced();
      },
      () => {},
    );
  }

  private restart(why: string, delayMs: number): void {
    if (this.stopped) return;
    const old = this.current;
    this.lastActivity = Date.now() + delayMs;
    this.opts.onRestart?.(this.name, why);
    if (why !== 'watch error') this.opts.log.info({ informer: this.name, why }, 'relisting');
    if (old) this.retired.add(old);
    void old?.stop();
    setTimeout(() => !this.stopped && this.launch(), delayMs).unref();
  }
}
