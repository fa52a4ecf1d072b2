/**
 * jcl_worker_refused_connections_total{namespace,job,rank,reason}: the connections and calls each rank of
 * a job refused (wrong token, bad hello, silent socket, ...; worker/src/distributed/refusal-log.ts), as
 * rank 0's status endpoint reports them for the whole gang (the other ranks report to rank 0, so the
 * operator's one poll per job per interval is all it takes: issue 20's bound holds).
 *
 * Bounded: reasons are a fixed set, ranks those of the job's world size; every (rank, reason) of a job is
 * exported from its first poll that carried counts (at 0 until something is refused, so `increase()`
 * sees the first refusal), and a job's series go when the job is deleted or this replica stops leading.
 * Monotonic across gang restarts: a new gang counts from 0, so what the last gang reached is kept as a
 * base (refusals after the last poll of a gang are not seen).
 */
import type { Counter } from 'prom-client';
import { REFUSAL_REASONS } from '../../../worker/src/distributed/refusal-log.ts';
import type { JCLTrainingJob } from '../api/status-schema.ts';
import { worldSize } from '../desired/procs.ts';
import type { WorkerRefusalCount } from '../status/observed.ts';

export const REFUSED_CONNECTIONS_METRIC = 'jcl_worker_refused_connections_total';

/** The labels of one series. */
export interface RefusalSeriesLabels {
  namespace: string;
  job: string;
  rank: string;
  reason: string;
}

/** What the metric keeps of a job at a poll. */
interface PolledJob {
  uid: string;
  namespace: string;
  name: string;
  /** Ranks in the gang (workers × procsPerWorker). */
  worldSize: number;
  /** status.restartGeneration of the gang that was polled. */
  generation: number;
}

interface JobCounts {
  job: PolledJob;
  /** Counts by `${rank}/${reason}` as last reported by the current gang. */
  last: Map<string, number>;
  /** What earlier gangs of the job reached, same keys. */
  base: Map<string, number>;
}

export class RefusalTotals {
  private readonly jobs = new Map<string, JobCounts>();

  /**
   * The counts rank 0 of `job`'s gang `generation` answered a poll with; `counts` undefined (a worker that
   * predates them) changes nothing.
   */
  observe(
    polled: JCLTrainingJob,
    generation: number,
    counts: readonly WorkerRefusalCount[] | undefined,
  ): void {
    if (counts === undefined) return;
    const job: PolledJob = {
      uid: polled.metadata?.uid ?? '',
      namespace: polled.metadata?.namespace ?? '',
      name: polled.metadata?.name ?? '',
      worldSize: worldSize(polled),
      generation,
    };
    let j = this.jobs.get(job.uid);
    if (j === undefined) this.jobs.set(job.uid, (j = { job, last: new Map(), base: new Map() }));
    const now = new Map<string, number>();
    for (const c of counts) if (c.rank < job.worldSize) now.set(`${c.rank}/${c.reason}`, c.count);
    const newGang = job.generation !== j.job.generation;
    for (const [key, prev] of j.last) {
      // A new gang, or (defensively) a count that went down: the counting process restarted.
      if (newGang || (now.get(key) ?? 0) < prev) j.base.set(key, (j.base.get(key) ?? 0) + prev);
    }
    j.job = job;
    j.last = now;
  }

  forget(uid: string): void {
    this.jobs.delete(uid);
  }

  clear(): void {
    this.jobs.clear();
  }

  /** Every series: each rank of each job × each reason. */
  series(): Array<{ labels: RefusalSeriesLabels; value: number }> {
    const out: Array<{ labels: RefusalSeriesLabels; value: number }> = [];
    for (const { job, last, base } of this.jobs.values()) {
      for (let rank = 0; rank < job.worldSize; rank++) {
        for (const reason of REFUSAL_REASONS) {
          const key = `${rank}/${reason}`;
          out.push({
            labels: { namespace: job.namespace, job: job.name, rank: String(rank), reason },
            value: (base.get(key) ?? 0) + (last.get(key) ?? 0),
          });
        }
      }
    }
    return out;
  }
}

/** Fill `counter` from `totals` (its collect callback at scrape time). */
export function collectRefusals(counter: Counter<keyof RefusalSeriesLabels>, totals: RefusalTotals): void {
  counter.reset();
  for (const { labels, value } of totals.series()) counter.inc(labels, value);
}
