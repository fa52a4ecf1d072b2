/**
 * The bandwidth ceiling for the all-reduce benchmark: raw TCP throughput of one plain socket pair on
 * loopback between two processes (this one receiving, a child sending), with no framing, no protobuf and
 * no HTTP/2 — what any transport between two local workers could at best achieve per direction.
 */
import { spawn } from 'node:child_process';
import { createServer, type Socket } from 'node:net';

// The sender: connect, write `bytes` from one reused 1 MiB buffer respecting backpressure, exit.
const SENDER = `
const net = require('node:net');
const [port, total] = process.argv.slice(1).map(Number);
const buf = Buffer.alloc(1 << 20, 7);
const s = net.connect(port, '127.0.0.1', () => {
  let sent = 0;
  const pump = () => {
    while (sent < total) {
      const n = Math.min(buf.length, total - sent);
      sent += n;
      if (!s.write(n === buf.length ? buf : buf.subarray(0, n))) return void s.once('drain', pump);
    }
    s.end();
  };
  pump();
});
`;

/** Measure loopback TCP throughput in bytes per second by streaming `bytes` once. */
export async function measureTcpCeiling(bytes: number): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  try {
    const received = new Promise<number>((resolve, reject) => {
      server.once('connection', (sock: Socket) => {
        let got = 0;
        let t0 = 0n;
        sock.on('data', (d: Buffer) => {
          if (got === 0) t0 = process.hrtime.bigint();
          got += d.length;
        });
        sock.on('end', () => {
          const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
          if (got !== bytes) reject(new Error(`tcp ceiling: expected ${bytes} B, got ${got}`));
          else resolve(got / seconds);
        });
        sock.on('error', reject);
      });
    });
    const child = spawn(process.execPath, ['-e', SENDER, String(port), String(bytes)], { stdio: 'inherit' });
    const exited = new Promise<void>((resolve, reject) =>
      child.on('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`tcp ceiling sender exited ${code}`)),
      ),
    );
    const [rate] = await Promise.all([received, exited]);
    return rate;
  } finally {
    server.close();
  }
}
