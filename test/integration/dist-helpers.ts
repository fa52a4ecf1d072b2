/** Shared fixtures for the distributed integration tests: free ports and an in-process gang. */
import { createServer } from 'node:net';
import type { DistConfig } from '../../worker/src/dist/dist-config.ts';
import { DIST_DEFAULTS } from '../../worker/src/dist/dist-config.ts';

/** A port free right now on loopback (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Configs for an in-process gang on loopback; rank 0 on `coordPort`, the others on ephemeral ports. */
export function gangConfigs(
  worldSize: number,
  coordPort: number,
  over: Partial<DistConfig> = {},
): DistConfig[] {
  return Array.from({ length: worldSize }, (_, rank) => ({
    ...DIST_DEFAULTS,
    rank,
    worldSize,
    coordinator: `127.0.0.1:${coordPort}`,
    port: rank === 0 ? coordPort : 0,
    bindHost: '127.0.0.1',
    advertiseHost: '127.0.0.1',
    statusPort: 0,
    dataPort: 0,
    token: { value: 'unused' },
    startupTimeoutMs: 10_000,
    peerTimeoutMs: 3_000,
    chunkBytes: 64 * 1024,
    bucketBytes: 256 * 1024,
    ...over,
  }));
}
