import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { sleep } from './leader-election.ts';

describe('sleep', () => {
  it('leaves no abort listener behind when the timer fires (no MaxListenersExceededWarning)', async () => {
    const ctl = new AbortController();
    for (let i = 0; i < 20; i++) await sleep(1, ctl.signal);
    expect(getEventListeners(ctl.signal, 'abort')).toHaveLength(0);
  });

  it('wakes at once when the signal aborts', async () => {
    const ctl = new AbortController();
    const started = Date.now();
    const slept = sleep(60_000, ctl.signal);
    ctl.abort();
    await slept;
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
