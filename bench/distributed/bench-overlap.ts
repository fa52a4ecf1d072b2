/**
 * Can gradient communication hide behind the backward pass here (issue 17, "overlap")? Measures, on the
 * native TensorFlow backend, the query encoder's backward pass (tf.variableGrads, one synchronous call)
 * and a transfer of as many bytes as a 2-rank ring all-reduce of its gradients moves (the gradient bytes
 * in each direction of one loopback TCP connection), alone and at the same time:
 *
 *  - `thread`: the transfer runs between two worker_threads (each its own event loop), as an off-thread
 *    transport would; the main thread runs backward meanwhile. Hidden share of the communication =
 *    1 - (both together - backward alone) / transfer alone, from the medians over the rounds.
 *  - `main`: the transfer's sockets live on the main thread (today's transport). The bytes that moved
 *    while variableGrads ran show whether anything progresses during it.
 *
 * Process CPU time / wall time during backward says how many of the machine's cores TensorFlow keeps
 * busy: what is left for a transport thread to use. `forwardMs` (forward alone, no tape) is what a
 * backward in segments would add per step with recompute; `stagedMs` is the backward walked stage by
 * stage over one tape (worker/src/train/staged-grads.ts), each stage's gradients read to the host as they
 * become final, as an overlapped step would hand them to the transport.
 *
 *   npx tsx bench/distributed/bench-overlap.ts [--model resnet18-cifar] [--batch 16] [--rounds 5]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { initBackend } from '../../worker/src/backend/select-backend.ts';
import { parseTrainingConfig } from '../../worker/src/config/parse-config.ts';
import { MODEL_ARCHS, type ModelArch } from '../../worker/src/config/schema.ts';
import { LocalCollective } from '../../worker/src/distributed/collective.ts';
import * as tf from '../../worker/src/tf.ts';
import { resnetStages, stagedVariableGrads } from '../../worker/src/train/staged-grads.ts';
import { createTrainState, disposeTrainState } from '../../worker/src/train/train-state.ts';
import { median } from '../../worker/src/util/stats.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'resnet18-cifar' },
    batch: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '5' },
  },
});
const model = values.model as ModelArch;
if (!MODEL_ARCHS.includes(model))
  throw new Error(`--model: expected one of ${MODEL_ARCHS.join(', ')}, got ${JSON.stringify(model)}`);
const batch = Number(values.batch);
const rounds = Number(values.rounds);
if (!Number.isInteger(batch) || batch < 1)
  throw new Error(`--batch: expected an integer >= 1, got ${values.batch}`);
if (!Number.isInteger(rounds) || rounds < 1)
  throw new Error(`--rounds: expected an integer >= 1, got ${values.rounds}`);

// Both ends of one loopback connection, each on its own thread: each sends `bytes` (1 MiB writes from a
// gradient-sized buffer) and reads `bytes` (the dialling end into one fixed buffer, as the TCP plane reads),
// as the two ranks of a 2-rank ring do.
const PEER = `
const net = require('node:net');
const { parentPort, workerData } = require('node:worker_threads');
const { bytes, listen } = workerData;
const data = Buffer.alloc(bytes, 1);
const inbuf = Buffer.allocUnsafeSlow(1 << 20);
let sock = null;
// Bytes count from the start of the connection: the peer may start sending before this thread's 'go'.
let received = 0, target = 0, finish = () => {};
const onBytes = (n) => { received += n; finish(); };
const run = () => {
  const t0 = performance.now();
  let sent = 0, wrote = false;
  target += bytes;
  finish = () => { if (received >= target && wrote) { finish = () => {}; parentPort.postMessage({ ms: performance.now() - t0 }); } };
  const pump = () => {
    while (sent < bytes) {
      const n = Math.min(1 << 20, bytes - sent);
      const ok = sock.write(data.subarray(sent, sent + n));
      sent += n;
      if (!ok) return void sock.once('drain', pump);
    }
    wrote = true;
    finish();
  };
  pump();
};
const onread = { buffer: inbuf, callback: (n) => { onBytes(n); return true; } };
parentPort.on('message', (m) => { if (m === 'go') run(); else if (m === 'close') { sock.destroy(); server?.close(); } });
let server = null;
if (listen) {
  server = net.createServer((s) => {
    sock = s;
    s.setNoDelay(true);
    s.on('data', (d) => onBytes(d.length));
    parentPort.postMessage({ ready: true });
  });
  server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
} else {
  sock = net.connect({ port: workerData.port, host: '127.0.0.1', onread }, () => { sock.setNoDelay(true); parentPort.postMessage({ ready: true }); });
}
`;

function next<T>(w: Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
}

async function threadPair(bytes: number): Promise<{ go(): Promise<number>; close(): Promise<void> }> {
  const a = new Worker(PEER, { eval: true, workerData: { bytes, listen: true } });
  const { port } = await next<{ port: number }>(a);
  const aReady = next(a);
  const b = new Worker(PEER, { eval: true, workerData: { bytes, listen: false, port } });
  await Promise.all([aReady, next(b)]);
  return {
    async go() {
      const both = Promise.all([next<{ ms: number }>(a), next<{ ms: number }>(b)]);
      a.postMessage('go');
      b.postMessage('go');
      const [ra, rb] = await both;
      return Math.max(ra.ms, rb.ms);
    },
    async close() {
      a.postMessage('close');
      b.postMessage('close');
      await Promise.all([a.terminate(), b.terminate()]);
    },
  };
}

const backend = await initBackend('tensorflow');
const cfg = parseTrainingConfig({
  model: { arch: model },
  jcl: { queueSize: 4096 },
  optim: { batchSize: batch },
});
const st = createTrainState(cfg, 3, new LocalCollective());
const vars = st.query.params.trainable().map((p) => p.variable);
const gradBytes = vars.reduce((s, v) => s + v.size * 4, 0);
const x = tf.randomNormal([batch, 32, 32, 3]) as tf.Tensor4D;
/** A scalar of the query encoder's output: what backward differentiates here. */
const loss = (): tf.Scalar => tf.mean(tf.square(st.query.embed(x, { training: true })));

/** One backward pass (the query encoder's gradients of a scalar of its output); wall and CPU ms. */
function backward(): { ms: number; cpuMs: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const { value, grads } = tf.variableGrads(loss, vars);
  // variableGrads returns when the gradients are computed (tfjs-node runs each op synchronously).
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  tf.dispose([value, ...Object.values(grads)]);
  return { ms, cpuMs: (c.user + c.system) / 1e3 };
}

const stages = resnetStages(st.query.params.trainable());

/** The same gradients walked stage by stage over one tape (staged-grads.ts), each stage read to host. */
function stagedBackward(): number {
  const t0 = performance.now();
  const { value, grads } = stagedVariableGrads(loss, stages, (_, gs) => gs.forEach((g) => g?.dataSync()));
  const ms = performance.now() - t0;
  tf.dispose([value, ...Object.values(grads)]);
  return ms;
}

/** tf.variableGrads with every gradient read to host afterwards: the reference for stagedBackward. */
function backwardRead(): number {
  const t0 = performance.now();
  const { value, grads } = tf.variableGrads(loss, vars);
  for (const g of Object.values(grads)) g.dataSync();
  const ms = performance.now() - t0;
  tf.dispose([value, ...Object.values(grads)]);
  return ms;
}

/**
 * The forward pass alone (no tape): what backward in segments costs extra in tfjs, where the engine's
 * gradients() records and backpropagates in one call, so each segment's forward must run again.
 */
function forward(): number {
  const t0 = performance.now();
  tf.tidy(() => st.query.embed(x, { training: true }).dataSync());
  return performance.now() - t0;
}

/** The transfer with its sockets on this (the main) thread; bytes read so far are counted in `moved`. */
async function mainThreadTransfer(
  bytes: number,
): Promise<{ start(): Promise<number>; moved(): number; close(): void }> {
  const net = await import('node:net');
  const data = Buffer.alloc(bytes, 1);
  let got = 0;
  const server = net.createServer((s) => s.on('data', (d: Buffer) => (got += d.length)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise<import('node:net').Socket>((r) => server.once('connection', r));
  const client = net.connect({
    port: (server.address() as import('node:net').AddressInfo).port,
    host: '127.0.0.1',
    onread: { buffer: Buffer.allocUnsafeSlow(1 << 20), callback: (n: number) => ((got += n), true) },
  });
  const sock = await accepted;
  return {
    start: () =>
      new Promise<number>((resolve) => {
        const target = got + 2 * bytes;
        const t0 = performance.now();
        const send = (s: import('node:net').Socket): void => {
          for (let off = 0; off < bytes; off += 1 << 20)
            s.write(data.subarray(off, Math.min(bytes, off + (1 << 20))));
        };
        send(sock);
        send(client);
        const poll = setInterval(() => {
          if (got >= target) {
            clearInterval(poll);
            resolve(performance.now() - t0);
          }
        }, 0);
      }),
    moved: () => got,
    close: () => {
      client.destroy();
      sock.destroy();
      server.close();
    },
  };
}

for (let i = 0; i < 2; i++) backward(); // warm-up
const pair = await threadPair(gradBytes);
await pair.go(); // warm-up (connection windows)
const rows: Record<string, number>[] = [];
for (let r = 0; r < rounds; r++) {
  const alone = backward();
  const forwardMs = forward();
  const commAlone = await pair.go();
  const t0 = performance.now();
  const comm = pair.go();
  const during = backward();
  const commMs = await comm;
  const bothMs = performance.now() - t0;
  rows.push({
    backwardMs: alone.ms,
    backwardCores: alone.cpuMs / alone.ms,
    forwardMs,
    commMs: commAlone,
    bothMs,
    backwardDuringCommMs: during.ms,
    commDuringBackwardMs: commMs,
  });
}
await pair.close();

// Staged against one-call backward, alternated (each reading every gradient to host).
const stagedRows: Record<string, number>[] = [];
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? [backwardRead, stagedBackward] : [stagedBackward, backwardRead];
  const [first, second] = order.map((f) => f());
  const [variableGradsMs, stagedMs] = r % 2 === 0 ? [first, second] : [second, first];
  stagedRows.push({ variableGradsMs, stagedMs, stagedOverVariableGrads: stagedMs / variableGradsMs });
}

// Today's transport: sockets on the main thread, which is inside variableGrads for the whole backward.
const mt = await mainThreadTransfer(gradBytes);
await mt.start();
const mainRows: Record<string, number>[] = [];
for (let r = 0; r < rounds; r++) {
  const before = mt.moved();
  const started = mt.start();
  const b = backward();
  const movedDuring = mt.moved() - before;
  const commMs = await started;
  mainRows.push({ backwardMs: b.ms, bytesMovedDuringBackward: movedDuring, commMs });
}
mt.close();

const med = (rs: Record<string, number>[], k: string) =>
  Math.round(median(rs.map((x) => x[k])) * 1000) / 1000;
const keys = (rs: Record<string, number>[]) =>
  Object.fromEntries(Object.keys(rs[0]).map((k) => [k, med(rs, k)]));
console.log(
  JSON.stringify({
    backend: backend.name,
    model,
    batch,
    gradBytes,
    rounds,
    thread: keys(rows),
    // From the medians: per-round differences are within the backward pass's own jitter.
    hiddenShare:
      Math.round((1 - (med(rows, 'bothMs') - med(rows, 'backwardMs')) / med(rows, 'commMs')) * 1000) / 1000,
    main: keys(mainRows),
    staged: keys(stagedRows),
    threadRounds: rows.map((r) =>
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Math.round(v * 100) / 100])),
    ),
    loadAvg1m: Math.round(loadavg()[0] * 100) / 100,
  }),
);
x.dispose();
disposeTrainState(st);
