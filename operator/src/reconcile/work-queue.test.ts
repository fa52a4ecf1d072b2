import { describe, expect, it } from 'vitest';
import { WorkQueue } from './work-queue.ts';

describe('WorkQueue', () => {
  it('dedupes queued keys and hands them out in order', async () => {
    const q = new WorkQueue();
    for (const k of ['a', 'b', 'a']) q.add(k);
    expect([await q.get(), await q.get(), q.length]).toEqual(['a', 'b', 0]);
  });

  it('never gives an in-flight key to a second worker; a change meanwhile re-queues it after done', async () => {
    const q = new WorkQueue();
    q.add('a');
    const key = await q.get();
    q.add('a');
    expect(q.length).toBe(0);
    q.done(key!);
    expect(await q.get()).toBe('a');
  });

  it('backs off exponentially per key and resets on forget', () => {
    const q = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 35 });
    expect([
      q.addRateLimited('a'),
      q.addRateLimited('a'),
      q.addRateLimited('a'),
      q.addRateLimited('a'),
    ]).toEqual([10, 20, 35, 35]);
    q.forget('a');
    expect(q.addRateLimited('a')).toBe(10);
    q.shutDown();
  });

  it('delivers delayed keys and wakes a waiting worker', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.addAfter('late', 20);
    expect(await waiting).toBe('late');
  });

  it('resolves waiting workers with undefined on shutdown', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.shutDown();
    expect(await waiting).toBeUndefined();
  });
});
