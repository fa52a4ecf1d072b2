import { describe, expect, it } from 'vitest';
import type { Informer, KubernetesObject, ObjectCache } from '@kubernetes/client-node';
import { pino } from 'pino';
import { SupervisedInformer } from './supervised-informer.ts';

/** A stand-in informer whose events the test fires by hand. */
class FakeInformer implements ObjectCache<KubernetesObject> {
  readonly callbacks = new Map<string, Array<(arg?: unknown) => void>>();
  stopped = false;
  on(verb: string, cb: (arg: never) => void): void {
    this.callbacks.set(verb, [...(this.callbacks.get(verb) ?? []), cb as (arg?: unknown) => void]);
  }
  off(): void {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {
    this.stopped = true;
  }
  fire(verb: string, arg?: unknown): void {
    for (const cb of this.callbacks.get(verb) ?? []) cb(arg);
  }
  get(): KubernetesObject | undefined {
    return undefined;
  }
  list(): KubernetesObject[] {
    return [];
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function supervise(stallMs: number, stopErrors = false) {
  const made: FakeInformer[] = [];
  const warnings: string[] = [];
  const restarts: string[] = [];
  const seen: string[] = [];
  const sup = new SupervisedInformer(
    'pods@*',
    () => {
      const f = new FakeInformer();
      // client-node's informer reports its aborted watch as an error when stopped.
      if (stopErrors)
        f.stop = async () => ((f.stopped = true), f.fire('error', new Error('The user aborted a request.')));
      made.push(f);
      return f as unknown as Informer<KubernetesObject> & ObjectCache<KubernetesObject>;
    },
    (verb, obj) => seen.push(`${verb} ${obj.metadata?.name}`),
    {
      stallMs,
      log: pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) }),
      onRestart: (_name, why) => restarts.push(why),
    },
  );
  return { sup, made, restarts, seen, warnings };
}

describe('SupervisedInformer', () => {
  it('replaces a watch that went silent (the stalled-watch failure) and relays events', async () => {
    const { sup, made, restarts, seen } = supervise(200);
    await sup.start();
    made[0].fire('add', { metadata: { name: 'a' } });
    await sleep(450);
    await sup.stop();
    expect(restarts[0]).toBe('no watch activity');
    expect(made.length).toBeGreaterThanOrEqual(2);
    expect(made[0].stopped).toBe(true);
    expect(seen).toEqual(['add a']);
  });

  it('keeps a watch that keeps talking', async () => {
    const { sup, made, restarts } = supervise(200);
    await sup.start();
    for (let i = 0; i < 6; i++) {
      await sleep(60);
      made[0].fire('update', { metadata: { name: 'a' } });
    }
    await sup.stop();
    expect([made.length, restarts]).toEqual([1, []]);
  });

  it('restarts after a watch error, with backoff', async () => {
    const { sup, made, restarts } = supervise(60_000);
    await sup.start();
    made[0].fire('error', new Error('watch closed'));
    expect(made).toHaveLength(1);
    await sleep(1_150);
    await sup.stop();
    expect([made.length, restarts]).toEqual([2, ['watch error']]);
  });

  it('a relist of a quiet watch is not reported as a watch failure (its own abort)', async () => {
    const { sup, made, restarts, warnings } = supervise(200, true);
    await sup.start();
    await sleep(300);
    await sup.stop();
    expect(restarts).toEqual(['no watch activity']);
    expect(made).toHaveLength(2);
    expect(warnings).toEqual([]);
  });
});
