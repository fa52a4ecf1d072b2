/**
 * Free loopback TCP ports for the control-plane components. The kernel picks each port; we hold all the
 * sockets open until every port is chosen so one call never returns the same port twice.
 */
import net from 'node:net';

/** Returns `count` distinct TCP ports that are free on 127.0.0.1 at the time of the call. */
export async function findFreePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`findFreePorts: count must be an integer >= 1, got ${count}`);
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i += 1) {
      const server = net.createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, host, () => resolve());
      });
      const address = server.address();
      if (address === null || typeof address === 'string')
        throw new Error(`findFreePorts: unexpected address ${String(address)}`);
      ports.push(address.port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
