/**
 * Rank 0's rendezvous state: which ranks joined with which address, and named barriers. No sockets here; the
 * gRPC handlers (rendezvous-service.ts) translate calls into `join`/`barrier` and errors into statuses.
 *
 * 1. Every rank but 0 joins with its rank and address; rank 0 registers itself with `selfAddress`.
 * 2. When all `worldSize` ranks are present, every pending join resolves with the same peer table.
 * 3. If the startup deadline passes first, every pending join (and `whenComplete`) fails with an error that
 *    names the ranks still missing, so a slow or crashed pod is easy to spot.
 * 4. A rank that joins again before completion replaces its earlier address (a restarted pod); after
 *    completion the gang is fixed and late joins are refused (the operator restarts the whole gang).
 */
import { JclError } from '../util/errors.ts';
import type { JoinRequest, JoinResponse, Peer } from './wire.ts';

interface Pending {
  resolve(res: JoinResponse): void;
  reject(err: Error): void;
}

export class RendezvousCoordinator {
  private readonly addresses: (string | null)[];
  private readonly dataAddresses: string[];
  private readonly pending = new Map<number, Pending>();
  /** Ranks waiting in each named barrier, with how to release or withdraw each. */
  private readonly barriers = new Map<string, Map<number, { resolve(): void; leave(): void }>>();
  private result: JoinResponse | null = null;
  private failure: Error | null = null;
  private readonly timer: NodeJS.Timeout;
  private readonly done: Promise<JoinResponse>;
  private settle!: { resolve(r: JoinResponse): void; reject(e: Error): void };

  /**
   * @param selfDataAddress rank 0's raw TCP data-plane address, '' when frames travel over gRPC; every
   *   joining rank must use the same data plane.
   */
  constructor(
    readonly worldSize: number,
    selfAddress: string,
    readonly sessionId: string,
    private readonly startupTimeoutMs: number,
    private readonly selfDataAddress = '',
  ) {
    this.addresses = Array.from({ length: worldSize }, (_, r) => (r === 0 ? selfAddress : null));
    this.dataAddresses = Array.from({ length: worldSize }, (_, r) => (r === 0 ? selfDataAddress : ''));
    this.done = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.done.catch(() => {});
    this.timer = setTimeout(() => this.expire(), startupTimeoutMs);
    this.timer.unref();
    this.maybeComplete();
  }

  /** Resolves with the peer table once every rank joined; rejects at the startup deadline. */
  whenComplete(): Promise<JoinResponse> {
    return this.done;
  }

  /** Register `req` (its host already resolved by the caller into the addresses) and wait for the table. */
  join(req: JoinRequest, address: string, dataAddress = ''): Promise<JoinResponse> {
    const problems = this.validate(req);
    if (problems.length > 0)
      return Promise.reject(new JclError('invalid_config', `join refused: ${problems.join('; ')}`));
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.result !== null) {
      return Promise.reject(
        new JclError(
          'internal',
          `rank ${req.rank} joined after the gang of ${this.worldSize} was formed; restart the gang`,
        ),
      );
    }
    this.pending
      .get(req.rank)
      ?.reject(
        new JclError('internal', `rank ${req.rank} joined again from ${address}; this join is superseded`),
      );
    this.addresses[req.rank] = address;
    this.dataAddresses[req.rank] = dataAddress;
    const p = new Promise<JoinResponse>((resolve, reject) => this.pending.set(req.rank, { resolve, reject }));
    this.maybeComplete();
    return p;
  }

  /**
   * Resolves when all ranks have entered the barrier `name`. When `signal` aborts first (the caller's
   * deadline passed or its call was cancelled), the rank leaves the barrier again and the promise
   * rejects: no entry outlives the call that made it.
   */
  barrier(name: string, rank: number, signal?: AbortSignal): Promise<void> {
    if (!Number.isInteger(rank) || rank < 0 || rank >= this.worldSize) {
      return Promise.reject(
        new JclError('invalid_config', `barrier: rank must be in [0, ${this.worldSize}), got ${rank}`),
      );
    }
    let b = this.barriers.get(name);
    if (b === undefined) {
      b = new Map();
      this.barriers.set(name, b);
    }
    const entry = b;
    return new Promise<void>((resolve, reject) => {
      // A rank entering again (a retried call) replaces its earlier entry.
      entry.get(rank)?.leave();
      const leave = () => {
        if (entry.get(rank)?.resolve !== resolve) return;
        entry.delete(rank);
        if (entry.size === 0 && this.barriers.get(name) === entry) this.barriers.delete(name);
        reject(
          new JclError('deadline_exceeded', `barrier ${name}: rank ${rank} left before every rank arrived`),
        );
      };
      if (signal?.aborted) return reject(new JclError('deadline_exceeded', `barrier ${name}: cancelled`));
      signal?.addEventListener('abort', leave, { once: true });
      entry.set(rank, { resolve, leave });
      if (entry.size === this.worldSize) {
        this.barriers.delete(name);
        for (const w of entry.values()) w.resolve();
        entry.clear();
      }
    });
  }

  /** Names of the barriers some rank is waiting in (diagnostics and tests). */
  openBarriers(): string[] {
    return [...this.barriers.keys()];
  }

  close(): void {
    clearTimeout(this.timer);
  }

  /** Ranks that have not joined yet. */
  missingRanks(): number[] {
    return this.addresses.flatMap((a, r) => (a === null ? [r] : []));
  }

  private validate(req: JoinRequest): string[] {
    const problems: string[] = [];
    if (req.worldSize !== this.worldSize)
      problems.push(`world_size: expected ${this.worldSize}, got ${req.worldSize}`);
    if (!Number.isInteger(req.rank) || req.rank < 1 || req.rank >= this.worldSize) {
      problems.push(`rank: expected an integer in [1, ${this.worldSize}), got ${req.rank}`);
    }
    if (!Number.isInteger(req.port) || req.port < 1 || req.port > 65535)
      problems.push(`port: expected 1..65535, got ${req.port}`);
    const tcp = this.selfDataAddress !== '';
    if (req.dataPort > 0 !== tcp) {
      problems.push(
        `data_port: rank 0 uses the ${tcp ? 'tcp' : 'grpc'} data plane (JCL_DATA_PLANE), got data_port ${req.dataPort}`,
      );
    }
    return problems;
  }

  private maybeComplete(): void {
    if (this.result !== null || this.missingRanks().length > 0) return;
    const peers: Peer[] = this.addresses.map((address, rank) => ({
      rank,
      address: address as string,
      dataAddress: this.dataAddresses[rank],
    }));
    this.result = { peers, sessionId: this.sessionId };
    clearTimeout(this.timer);
    for (const p of this.pending.values()) p.resolve(this.result);
    this.pending.clear();
    this.settle.resolve(this.result);
  }

  private expire(): void {
    if (this.result !== null) return;
    const missing = this.missingRanks();
    this.failure = new JclError(
      'deadline_exceeded',
      `rendezvous: rank(s) ${missing.join(', ')} of ${this.worldSize} did not join within ${this.startupTimeoutMs} ms`,
    );
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
    this.settle.reject(this.failure);
  }
}
