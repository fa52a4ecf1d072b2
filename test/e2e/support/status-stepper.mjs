/* global process, console, setInterval */
// A stand-in `jcl worker` for the operator's steady-state tests: rank 0 serves the real Status gRPC
// endpoint (worker/src/distributed/status-server.ts, the job token) and advances one step every FAKE_STEP_MS
// (0 = a worker whose progress never changes); every other rank idles. Each poll it answers is logged as
// one JSON line {"poll":n,"atMs":...} on stdout, so a test can count the operator's polls per job.
import { readFileSync } from 'node:fs';
import { register } from 'tsx/esm/api';

register();
const env = process.env;
if (env.JCL_RANK !== '0') {
  setInterval(() => {}, 60_000);
} else {
  const { startStatusServer } = await import('../../../worker/src/distributed/status-server.ts');
  const { StatusReporter } = await import('../../../worker/src/distributed/status-reporter.ts');
  const reporter = new StatusReporter(Number(env.JCL_WORLD_SIZE ?? '1'));
  const stepMs = Number(env.FAKE_STEP_MS ?? '0');
  let step = Number(env.FAKE_START_STEP ?? '0');
  const report = () =>
    reporter.update({
      phase: 'training',
      epoch: Math.floor(step / 100),
      step,
      lossTotal: 8 - step / 1000,
      imagesPerSec: 100,
      lastCheckpoint: step >= 50 ? `ckpt-${String(Math.floor(step / 50) * 50).padStart(8, '0')}` : undefined,
    });
  report();
  if (stepMs > 0) setInterval(() => (step++, report()), stepMs);
  let polls = 0;
  await startStatusServer({
    reporter: {
      snapshot: () => {
        console.log(JSON.stringify({ poll: ++polls, atMs: Date.now() }));
        return reporter.snapshot();
      },
    },
    token: readFileSync(env.JCL_TOKEN_FILE, 'utf8').trim(),
    port: Number(env.JCL_STATUS_PORT),
  });
}
