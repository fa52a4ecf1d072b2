/**
 * A minimal worker program for exercising the distributed runtime in child processes (integration tests,
 * the all-reduce benchmark) until and besides `jcl worker`: rendezvous from the JCL_* environment, run one
 * scenario, print one JSON line on rank 0, exit with the JclError exit code on failure.
 *
 *   node --import tsx worker/src/distributed/collective-probe.ts <check|loop|bench> [elements] [iters] [dtype]
 *
 * `dtype` (bench only): the gradient dtype on the wire, float32 (default) or bfloat16.
 */
import { describeError, JclError } from '../util/errors.ts';
import { exitWhenIdle } from '../util/exit-when-idle.ts';
import { createCollectiveFromEnv } from './create-collective.ts';
import type { DistLogger } from './log.ts';
import { GRADIENT_DTYPES, type GradientDtype } from './bf16.ts';

const log: DistLogger = {
  info: (o, m) => console.error(JSON.stringify({ level: 'info', ...o, msg: m })),
  warn: (o, m) => console.error(JSON.stringify({ level: 'warn', ...o, msg: m })),
  error: (o, m) => console.error(JSON.stringify({ level: 'error', ...o, msg: m })),
};

async function main(): Promise<number> {
  const [mode = 'check', elemsArg = '1000', itersArg = '1', dtypeArg = 'float32'] = process.argv.slice(2);
  const elems = Number(elemsArg);
  const iters = Number(itersArg);
  if (!(GRADIENT_DTYPES as readonly string[]).includes(dtypeArg))
    throw new JclError(
      'invalid_config',
      `collective-probe: dtype must be float32 or bfloat16, got ${dtypeArg}`,
    );
  const dtype = dtypeArg as GradientDtype;
  const c = await createCollectiveFromEnv(process.env, log);
  const n = c.worldSize;
  try {
    if (mode === 'check') {
      const buf = Float32Array.from({ length: elems }, (_, i) => (c.rank * 7 + i) % 101);
      await c.allReduceMean([buf]);
      for (let i = 0; i < elems; i++) {
        let sum = 0;
        for (let r = 0; r < n; r++) sum += (r * 7 + i) % 101;
        // allReduceMean scales the float32 sum by 1/n and stores float32.
        const want = Math.fround(sum * (1 / n));
        if (buf[i] !== want) throw new JclError('internal', `element ${i}: expected ${want}, got ${buf[i]}`);
      }
      if (c.rank === 0) console.log(JSON.stringify({ ok: true, elems, worldSize: n }));
    } else if (mode === 'loop') {
      // Reduce forever (until a peer is killed): the fault-detection scenario.
      const buf = new Float32Array(elems);
      for (let i = 0; ; i++) {
        await c.allReduceMean([buf]);
        if (i === 0) console.log(JSON.stringify({ rank: c.rank, looping: true }));
      }
    } else if (mode === 'bench') {
      const buf = new Float32Array(elems).fill(1);
      await c.allReduceMean([buf], { dtype }); // warm-up: connections, JIT
      await c.barrier();
      const times: number[] = [];
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < iters; i++) {
        const t0 = process.hrtime.bigint();
        await c.allReduceMean([buf], { dtype });
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      const cpu = process.cpuUsage(cpu0);
      // CPU time of this process per iteration: on a loaded machine, the figure that does not depend on
      // how much of a core the scheduler granted.
      const cpuMsPerIter = (cpu.user + cpu.system) / 1e3 / iters;
      if (c.rank === 0)
        console.log(
          JSON.stringify({ bench: true, elems, dtype, worldSize: n, timesMs: times, cpuMsPerIter }),
        );
    } else {
      throw new JclError(
        'invalid_config',
        `collective-probe: mode must be check, loop or bench, got ${mode}`,
      );
    }
    await c.close();
    return 0;
  } catch (err) {
    log.error({ err: describeError(err) }, `rank ${c.rank} failed`);
    await c.close().catch(() => {});
    return err instanceof JclError ? err.exitCode : 1;
  }
}

// The same exit path as bin/jcl.js, so tests of the probe also test how a worker process ends.
main().then(
  (code) => exitWhenIdle(code),
  (err) => {
    log.error({ err: describeError(err) }, 'startup failed');
    exitWhenIdle(err instanceof JclError ? err.exitCode : 1);
  },
);
