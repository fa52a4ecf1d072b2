import { describe, expect, it } from 'vitest';
import { toProgressReport } from '../kube/progress-poller.ts';
import { makeJob } from '../testing/make-job.ts';
import { createMetrics } from './metrics.ts';
import { REFUSED_CONNECTIONS_METRIC } from './refusal-metric.ts';

/** The refusal series of a /metrics text, "rank reason value" per line, for job `job`. */
async function refusalLines(text: Promise<string>, job: string): Promise<string[]> {
  const re = new RegExp(
    `^${REFUSED_CONNECTIONS_METRIC}\\{namespace="ns",job="${job}",rank="(\\d+)",reason="(\\w+)"\\} (\\d+)$`,
  );
  return (await text).split('\n').flatMap((l) => {
    const m = re.exec(l);
    return m ? [`${m[1]} ${m[2]} ${m[3]}`] : [];
  });
}

const job = makeJob('demo').workers(2).template({ procsPerWorker: 1 }).obj();
const wire = (ranks: Array<{ rank: number; counts: Array<{ reason: string; count: number }> }>) =>
  toProgressReport({ step: 1, refusals: { ranks } }).refusals;

describe('toProgressReport: refusal counts', () => {
  it('flattens them and drops entries no worker of this version sends', () => {
    expect(
      wire([
        { rank: 0, counts: [{ reason: 'wrong_token', count: 2 }] },
        {
          rank: 1,
          counts: [
            { reason: 'hello_timeout', count: 4 },
            { reason: 'made_up', count: 1 },
            { reason: 'bad_hello', count: -1 },
            { reason: 'bad_hello', count: 0.5 },
          ],
        },
        { rank: -1, counts: [{ reason: 'wrong_token', count: 1 }] },
      ]),
    ).toEqual([
      { rank: 0, reason: 'wrong_token', count: 2 },
      { rank: 1, reason: 'hello_timeout', count: 4 },
    ]);
  });

  it('leaves them undefined for a worker that predates them (unset message)', () => {
    expect(toProgressReport({ step: 1, refusals: null })).toEqual({ step: 1 });
    expect(toProgressReport({ step: 1 })).toEqual({ step: 1 });
    expect(toProgressReport({ step: 1, refusals: { ranks: [] } })).toEqual({ step: 1, refusals: [] });
  });
});

describe(REFUSED_CONNECTIONS_METRIC, () => {
  it('exports every rank × reason of a polled job, at 0 until refused, and removes them with the job', async () => {
    const m = createMetrics(() => []);
    expect(await refusalLines(m.registry.metrics(), 'demo')).toEqual([]);
    m.workerRefusals.observe(job, 0, undefined); // an old worker: no series
    expect(await refusalLines(m.registry.metrics(), 'demo')).toEqual([]);
    m.workerRefusals.observe(
      job,
      0,
      wire([
        { rank: 1, counts: [{ reason: 'wrong_token', count: 3 }] },
        { rank: 2, counts: [{ reason: 'wrong_token', count: 9 }] }, // beyond the world size: dropped
      ]),
    );
    expect(await refusalLines(m.registry.metrics(), 'demo')).toEqual([
      '0 wrong_token 0',
      '0 bad_hello 0',
      '0 wrong_rank_certificate 0',
      '0 tls_handshake 0',
      '0 hello_timeout 0',
      '0 connection_limit 0',
      '1 wrong_token 3',
      '1 bad_hello 0',
      '1 wrong_rank_certificate 0',
      '1 tls_handshake 0',
      '1 hello_timeout 0',
      '1 connection_limit 0',
    ]);
    expect(await m.registry.metrics()).toContain(`# TYPE ${REFUSED_CONNECTIONS_METRIC} counter`);
    m.workerRefusals.forget(job.metadata!.uid!);
    expect(await refusalLines(m.registry.metrics(), 'demo')).toEqual([]);
  });

  it('stays monotonic across gang restarts: a new gang counts from 0 on top of what the last one reached', async () => {
    const m = createMetrics(() => []);
    const at = async () =>
      (await refusalLines(m.registry.metrics(), 'demo')).filter((l) => !l.endsWith(' 0'));
    m.workerRefusals.observe(job, 0, wire([{ rank: 0, counts: [{ reason: 'hello_timeout', count: 5 }] }]));
    m.workerRefusals.observe(job, 0, wire([{ rank: 0, counts: [{ reason: 'hello_timeout', count: 7 }] }]));
    expect(await at()).toEqual(['0 hello_timeout 7']);
    m.workerRefusals.observe(job, 1, wire([{ rank: 0, counts: [{ reason: 'hello_timeout', count: 2 }] }]));
    expect(await at()).toEqual(['0 hello_timeout 9']);
    m.workerRefusals.observe(job, 1, wire([{ rank: 1, counts: [{ reason: 'tls_handshake', count: 1 }] }]));
    expect(await at()).toEqual(['0 hello_timeout 9', '1 tls_handshake 1']);
    m.workerRefusals.clear(); // this replica stopped leading
    expect(await refusalLines(m.registry.metrics(), 'demo')).toEqual([]);
  });

  it('counts ranks as workers × procsPerWorker', async () => {
    const m = createMetrics(() => []);
    const wide = makeJob('wide').workers(2).template({ procsPerWorker: 2 }).obj();
    m.workerRefusals.observe(wide, 0, []);
    const lines = await refusalLines(m.registry.metrics(), 'wide');
    expect(lines).toHaveLength(4 * 6);
    expect(lines.at(-1)).toBe('3 connection_limit 0');
  });
});
