/**
 * The bandwidth ceilings for the all-reduce benchmark: raw TCP throughput of one plain socket pair on
 * loopback between two processes (this one and a child), with no framing, no protobuf and no HTTP/2.
 *
 *  - `simplex`: the child sends, this process receives: what any transport between two local workers could
 *    at best achieve in one direction. This is the ceiling.
 *  - `duplex`: both ends send and receive at once, as every rank of a ring does (it sends to its successor
 *    while it receives from its predecessor); the figure is the throughput per direction. On loopback both
 *    directions are copied by the same CPUs, so this is what one link of a busy ring can carry on this host.
 *
 * One sample moves `bytes` per direction over a fresh connection; `measureTcpCeiling` takes the median of
 * several so that one unlucky scheduling slice (samples vary 2x on a 2-core machine) does not set the bar.
 */
import { spawn } from 'node:child_process';
import { createServer, type Socket } from 'node:net';

export type CeilingMode = 'simplex' | 'duplex';

// The child: connect; stream `total` bytes from one reused 1 MiB buffer respecting backpressure; in duplex
// mode also drain what the parent sends and close once both directions are done.
const CHILD = `
const net = require('node:net');
const [port, total, duplex] = [Number(process.argv[1]), Number(process.argv[2]), process.argv[3] === 'duplex'];
const buf = Buffer.alloc(1 << 20, 7);
const s = net.connect(port, '127.0.0.1', () => {
  let sent = 0, got = 0, sendDone = false, recvDone = !duplex;
  const maybeEnd = () => { if (sendDone && recvDone) s.end(); };
  if (duplex) s.on('data', (d) => { got += d.length; if (got === total) { recvDone = true; maybeEnd(); } });
  const pump = () => {
    while (sent < total) {
      const n = Math.min(buf.length, total - sent);
      sent += n;
      if (!s.write(n === buf.length ? buf : buf.subarray(0, n))) return void s.once('drain', pump);
    }
    sendDone = true;
    maybeEnd();
  };
  pump();
});
s.on('error', (e) => { console.error(e.message); process.exit(1); });
`;

/** One sample: bytes per second per direction. */
async function sample(bytes: number, mode: CeilingMode): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  try {
    const received = new Promise<number>((resolve, reject) => {
      server.once('connection', (sock: Socket) => {
        let got = 0;
        let t0 = 0n;
        let t1 = 0n;
        let sendDone = mode === 'simplex';
        const finish = () => {
          if (t1 === 0n || !sendDone) return;
          if (got !== bytes) reject(new Error(`tcp ceiling: expected ${bytes} B, got ${got}`));
          else resolve(got / (Number(t1 - t0) / 1e9));
        };
        if (mode === 'duplex') {
          t0 = process.hrtime.bigint();
          const buf = Buffer.alloc(1 << 20, 9);
          let sent = 0;
          const pump = (): void => {
            while (sent < bytes) {
              const n = Math.min(buf.length, bytes - sent);
              sent += n;
              if (!sock.write(n === buf.length ? buf : buf.subarray(0, n)))
                return void sock.once('drain', pump);
            }
            sendDone = true;
            finish();
          };
          pump();
        }
        sock.on('data', (d: Buffer) => {
          if (t0 === 0n) t0 = process.hrtime.bigint();
          got += d.length;
          if (got === bytes) {
            t1 = process.hrtime.bigint();
            finish();
          }
        });
        sock.on('end', () => {
          if (got !== bytes) reject(new Error(`tcp ceiling: expected ${bytes} B, got ${got}`));
          sock.end();
        });
        sock.on('error', reject);
      });
    });
    const child = spawn(process.execPath, ['-e', CHILD, String(port), String(bytes), mode], {
      stdio: 'inherit',
    });
    const exited = new Promise<void>((resolve, reject) =>
      child.on('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`tcp ceiling child exited ${code}`)),
      ),
    );
    const [rate] = await Promise.all([received, exited]);
    return rate;
  } finally {
    server.close();
  }
}

export interface CeilingMeasurement {
  /** Median bytes per second per direction. */
  median: number;
  samples: number[];
}

/** Median loopback TCP throughput (bytes/s per direction) over `samples` transfers of `bytes` each. */
export async function measureTcpCeiling(
  bytes: number,
  mode: CeilingMode = 'simplex',
  samples = 1,
): Promise<CeilingMeasurement> {
  if (!Number.isInteger(samples) || samples < 1)
    throw new RangeError(`measureTcpCeiling: samples must be a positive integer, got ${samples}`);
  const rates: number[] = [];
  for (let i = 0; i < samples; i++) rates.push(await sample(bytes, mode));
  return { median: median(rates), samples: rates };
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median of an empty list');
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
