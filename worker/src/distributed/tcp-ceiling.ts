/**
 * The bandwidth ceilings for the all-reduce benchmark: raw TCP throughput of one plain socket pair on
 * loopback between two processes (this one and a child), with no framing, no protobuf and no HTTP/2, read
 * the fastest way Node offers (`onread` into one fixed 1 MiB buffer, as the TCP data plane reads).
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
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { median } from '../util/stats.ts';

export type CeilingMode = 'simplex' | 'duplex';

// The child listens on an ephemeral port, prints it, and on the connection streams `total` bytes from one
// reused 1 MiB buffer respecting backpressure; in duplex mode it also drains what the parent sends (into
// one fixed buffer) and closes once both directions are done.
const CHILD = `
const net = require('node:net');
const [total, duplex] = [Number(process.argv[1]), process.argv[2] === 'duplex'];
const buf = Buffer.alloc(1 << 20, 7);
const server = net.createServer((s) => {
  server.close();
  let sent = 0, got = 0, sendDone = false, recvDone = !duplex;
  const maybeEnd = () => { if (sendDone && recvDone) s.end(); };
  s.on('data', (d) => { got += d.length; if (duplex && got === total) { recvDone = true; maybeEnd(); } });
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
  s.on('error', (e) => { console.error(e.message); process.exit(1); });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

/** One sample: bytes per second per direction. */
async function sample(bytes: number, mode: CeilingMode): Promise<number> {
  const child = spawn(process.execPath, ['-e', CHILD, String(bytes), mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve, reject) =>
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`tcp ceiling child exited ${code}`)),
    ),
  );
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (l) => resolve(Number(l)));
    child.once('exit', () => reject(new Error('tcp ceiling child exited before listening')));
  });
  const received = new Promise<number>((resolve, reject) => {
    let got = 0;
    let t0 = 0n;
    let t1 = 0n;
    let sendDone = mode === 'simplex';
    const finish = () => {
      if (t1 !== 0n && sendDone) resolve(got / (Number(t1 - t0) / 1e9));
    };
    const sock = connect({
      host: '127.0.0.1',
      port,
      onread: {
        buffer: Buffer.allocUnsafeSlow(1 << 20),
        callback: (n: number): boolean => {
          if (t0 === 0n) t0 = process.hrtime.bigint();
          got += n;
          if (got === bytes) {
            t1 = process.hrtime.bigint();
            finish();
          }
          return true;
        },
      },
    });
    sock.on('connect', () => {
      if (mode !== 'duplex') return;
      t0 = process.hrtime.bigint();
      const buf = Buffer.alloc(1 << 20, 9);
      let sent = 0;
      const pump = (): void => {
        while (sent < bytes) {
          const n = Math.min(buf.length, bytes - sent);
          sent += n;
          if (!sock.write(n === buf.length ? buf : buf.subarray(0, n))) return void sock.once('drain', pump);
        }
        sendDone = true;
        finish();
      };
      pump();
    });
    sock.on('end', () => {
      if (got !== bytes) reject(new Error(`tcp ceiling: expected ${bytes} B, got ${got}`));
      sock.end();
    });
    sock.on('error', reject);
  });
  const [rate] = await Promise.all([received, exited]);
  return rate;
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
