import { afterEach, describe, expect, it } from 'vitest';
import { RendezvousCoordinator } from './rendezvous-coordinator.ts';

const join = (rank: number, over: Partial<{ worldSize: number; port: number; dataPort: number }> = {}) => ({
  rank,
  worldSize: 3,
  host: '',
  port: 5000 + rank,
  dataPort: 0,
  ...over,
});

let coords: RendezvousCoordinator[] = [];
function coordinator(timeoutMs = 5_000): RendezvousCoordinator {
  const c = new RendezvousCoordinator(3, 'r0:5000', 'sess', timeoutMs);
  coords.push(c);
  return c;
}
afterEach(() => {
  for (const c of coords) c.close();
  coords = [];
});

describe('RendezvousCoordinator', () => {
  it('answers every join with the same table once all ranks are in; a rejoin replaces the address', async () => {
    const c = coordinator();
    const superseded = c.join(join(1), '10.0.0.9:5001');
    const first = c.join(join(1), '10.0.0.1:5001');
    const second = c.join(join(2), '10.0.0.2:5002');
    const peers = [
      { rank: 0, address: 'r0:5000', dataAddress: '' },
      { rank: 1, address: '10.0.0.1:5001', dataAddress: '' },
      { rank: 2, address: '10.0.0.2:5002', dataAddress: '' },
    ];
    await expect(first).resolves.toEqual({ peers, sessionId: 'sess' });
    await expect(second).resolves.toEqual({ peers, sessionId: 'sess' });
    await expect(superseded).rejects.toThrow('rank 1 joined again from 10.0.0.1:5001');
    await expect(c.whenComplete()).resolves.toEqual({ peers, sessionId: 'sess' });
    await expect(c.join(join(1), 'x:1')).rejects.toThrow('joined after the gang of 3 was formed');
  });

  it('refuses invalid joins without registering them', async () => {
    const c = coordinator();
    await expect(c.join(join(0), 'a:1')).rejects.toMatchObject({ code: 'invalid_config' });
    await expect(c.join(join(1, { worldSize: 4, port: 0, dataPort: 7 }), 'a:1')).rejects.toThrow(
      'world_size: expected 3, got 4; port: expected 1..65535, got 0; ' +
        'data_port: rank 0 uses the grpc data plane (JCL_DATA_PLANE), got data_port 7',
    );
    expect(c.missingRanks()).toEqual([1, 2]);
  });

  it('names the missing ranks when the startup deadline passes', async () => {
    const c = coordinator(50);
    const pending = c.join(join(2), 'a:2');
    const msg = 'rendezvous: rank(s) 1 of 3 did not join within 50 ms';
    await expect(pending).rejects.toMatchObject({ code: 'deadline_exceeded', message: msg });
    await expect(c.whenComplete()).rejects.toThrow(msg);
  });

  it('releases a named barrier only when every rank has entered it', async () => {
    const c = coordinator();
    const order: string[] = [];
    const waits = [0, 1].map((r) => c.barrier('start', r).then(() => order.push(`released ${r}`)));
    await new Promise((r) => setTimeout(r, 10));
    order.push('last arrives');
    await Promise.all([...waits, c.barrier('start', 2)]);
    expect(order).toEqual(['last arrives', 'released 0', 'released 1']);
  });

  it('withdraws the entry of a barrier call that is cancelled or times out, leaving nothing behind', async () => {
    const c = coordinator();
    const cancel = new AbortController();
    const left = c.barrier('close', 1, cancel.signal);
    expect(c.openBarriers()).toEqual(['close']);
    cancel.abort();
    await expect(left).rejects.toMatchObject({
      code: 'deadline_exceeded',
      message: expect.stringContaining('rank 1 left'),
    });
    expect(c.openBarriers()).toEqual([]);
    // The withdrawn rank does not count: ranks 0 and 2 alone do not release the barrier.
    let released = false;
    const w0 = c.barrier('close', 0).then(() => (released = true));
    const w2 = c.barrier('close', 2, AbortSignal.timeout(20));
    await expect(w2).rejects.toMatchObject({ code: 'deadline_exceeded' });
    expect(released).toBe(false);
    expect(c.openBarriers()).toEqual(['close']); // rank 0 still waits, and only rank 0
    await Promise.all([c.barrier('close', 1), c.barrier('close', 2), w0]);
    expect(c.openBarriers()).toEqual([]);
  });
});
