import { afterEach, describe, expect, it, vi } from 'vitest';
import { JclError } from '../util/errors.ts';
import { silentLogger } from './log.ts';
import { RefusalLog, type RefusalCounts } from './refusal-log.ts';
import { RefusalReporter } from './refusal-reporter.ts';

afterEach(() => {
  vi.useRealTimers();
});

function setup(fail?: JclError) {
  vi.useFakeTimers();
  const refusals = new RefusalLog(silentLogger, { now: () => Date.now() });
  const sent: Array<{ atMs: number; counts: RefusalCounts }> = [];
  const reporter = new RefusalReporter({
    refusals,
    log: silentLogger,
    intervalMs: 5_000,
    send: async (counts) => {
      sent.push({ atMs: Date.now(), counts });
      if (fail) throw fail;
    },
  });
  return { refusals, sent, reporter, t0: Date.now() };
}

describe('RefusalReporter', () => {
  it('sends nothing while nothing is refused', async () => {
    const { sent, reporter } = setup();
    reporter.start();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sent).toEqual([]);
    await reporter.stop();
  });

  it('batches a burst into one report, then reports at most once per interval', async () => {
    const { refusals, sent, reporter, t0 } = setup();
    refusals.note('data', 'hello_timeout', '10.0.0.9'); // during rendezvous, before start
    reporter.start();
    for (let i = 0; i < 100; i++) refusals.note('data', 'wrong_token', '10.0.0.9');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sent.map((s) => [s.atMs - t0, s.counts.wrong_token, s.counts.hello_timeout])).toEqual([
      [200, 100, 1],
    ]);
    // A steady stream of refusals: one report per interval, each with every refusal so far.
    for (let i = 0; i < 30; i++) {
      refusals.note('grpc', 'connection_limit', '10.0.0.9');
      await vi.advanceTimersByTimeAsync(500);
    }
    expect(sent.map((s) => s.atMs - t0)).toEqual([200, 5_200, 10_200, 15_200]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(sent.map((s) => s.atMs - t0)).toEqual([200, 5_200, 10_200, 15_200, 20_200]);
    expect(sent.at(-1)?.counts.connection_limit).toBe(30);
    await vi.advanceTimersByTimeAsync(60_000); // nothing new: nothing sent
    expect(sent).toHaveLength(5);
    await reporter.stop();
    refusals.note('data', 'bad_hello', '10.0.0.9');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sent).toHaveLength(5);
  });

  it('retries a report rank 0 could not take an interval later', async () => {
    const { refusals, sent, reporter, t0 } = setup(new JclError('peer_lost', 'rank 0 unreachable'));
    reporter.start();
    refusals.note('data', 'wrong_token', '10.0.0.9');
    await vi.advanceTimersByTimeAsync(11_000);
    expect(sent.map((s) => s.atMs - t0)).toEqual([200, 5_200, 10_200]);
    await reporter.stop();
  });

  it('does not retry a report rank 0 refused (it does not know the call): the next refusal is reported', async () => {
    const { refusals, sent, reporter, t0 } = setup(new JclError('internal', 'UNIMPLEMENTED'));
    reporter.start();
    refusals.note('data', 'wrong_token', '10.0.0.9');
    await vi.advanceTimersByTimeAsync(30_000);
    expect(sent.map((s) => s.atMs - t0)).toEqual([200]);
    refusals.note('data', 'wrong_token', '10.0.0.9');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sent.map((s) => s.atMs - t0)).toEqual([200, 30_200]);
    await reporter.stop();
  });
});
