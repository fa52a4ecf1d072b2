import { describe, expect, it } from 'vitest';
import { LocalCollective, type Collective } from './collective.ts';
import { TimedCollective } from './timed-collective.ts';

class SlowCollective extends LocalCollective implements Collective {
  override async allGather(local: Float32Array): Promise<Float32Array> {
    await new Promise((r) => setTimeout(r, 30));
    return local.slice();
  }
}

describe('TimedCollective', () => {
  it('passes calls through and accumulates the time spent in them until taken', async () => {
    const timed = new TimedCollective(new SlowCollective());
    expect(Array.from(await timed.allGather(Float32Array.from([1, 2])))).toEqual([1, 2]);
    await timed.allGather(Float32Array.from([3]));
    const ms = timed.takeMs();
    expect(ms).toBeGreaterThanOrEqual(55);
    expect(ms).toBeLessThan(2_000);
    expect(timed.takeMs()).toBe(0);
    expect([timed.rank, timed.worldSize]).toEqual([0, 1]);
  });
});
