/* global process, console, setInterval */
// A stand-in `jcl worker` for the operator's steady-state tests: rank 0 serves the real Status gRPC
// endpoint (worker/src/distributed/status-server.ts, the job token) and advances one step every FAKE_STEP_MS
// (0 = a worker whose progress never changes); every other rank idles. Each poll it answers is logged as
// one JSON line {"poll":n,"atMs":...} on stdout, so a test can count the operator's polls per job.
// Generation 0 (JCL_RESTART_GENERATION) can also stop advancing at FAKE_STOP_STEP, and report at
// FAKE_FAULT_AT_STEP that it lost peer FAKE_FAULT_PEER (a fault, as the real worker's status endpoint
// reports one, while every pod still runs). A later generation starts at FAKE_RESUME_STEP when set,
// restored from the checkpoint of that step, and does not advance: the gang resumed from the newest
// checkpoint, which rank 0 wrote after the operator's last poll of generation 0.
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
  const resumed = (env.JCL_RESTART_GENERATION ?? '0') !== '0' && env.FAKE_RESUME_STEP !== undefined;
  const stepMs = resumed ? 0 : Number(env.FAKE_STEP_MS ?? '0');
  const stopStep = Number(env.FAKE_STOP_STEP ?? 'Infinity');
  const faultStep = resumed ? Infinity : Number(env.FAKE_FAULT_AT_STEP ?? 'Infinity');
  let step = Number((resumed ? env.FAKE_RESUME_STEP : env.FAKE_START_STEP) ?? '0');
  const ckptName = (s) => `/checkpoints/job/ckpt-${String(s).padStart(8, '0')}.jclckpt`;
  const report = () =>
    reporter.update({
      phase: 'training',
      epoch: Math.floor(step / 100),
      step,
      lossTotal: 8 - step / 1000,
      imagesPerSec: 100,
      lastCheckpoint: resumed
        ? ckptName(step)
        : step >= 50
          ? ckptName(Math.floor(step / 50) * 50)
          : undefined,
    });
  report();
  if (stepMs > 0)
    setInterval(() => {
      if (step >= stopStep) return;
      step++;
      report();
      if (step === faultStep) {
        const peer = Number(env.FAKE_FAULT_PEER ?? '1');
        reporter.reportFault({ code: 'peer_lost', message: `lost rank ${peer}`, peerRank: peer });
      }
    }, stepMs);
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
