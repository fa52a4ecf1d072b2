/**
 * `jcl worker`: the pod entrypoint (docs/ARCHITECTURE.md, "The worker contract"). Reads the config
 * file and JCL_* env, joins the gang, trains its share, serves status on rank 0, and writes a
 * one-line JSON result (or the failure) to the termination log the operator reads.
 */
import { createCollectiveFromEnv } from '../distributed/create-collective.ts';
import { procsPerWorker, runPodProcesses } from '../distributed/pod-processes.ts';
import { createLogger } from '../util/logger.ts';
import { describeError, JclError } from '../util/errors.ts';
import { resolveConfig } from './config-sources.ts';
import { parseFlags } from './parse-flags.ts';
import { PROGRESS_LINE_TYPE } from './gang-output.ts';
import { runJob } from './run-job.ts';
import { terminationLogPath, writeTerminationMessage } from './termination-log.ts';

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { 'stop-after-step': { type: 'string' } });
  if (values.help) {
    process.stdout.write(
      'usage: jcl worker   (configured by JCL_CONFIG_FILE, JCL_RANK, JCL_WORLD_SIZE, JCL_COORDINATOR, ... see docs/ARCHITECTURE.md)\n',
    );
    return 0;
  }
  const env = process.env;
  const terminationLog = terminationLogPath(env);
  // procsPerWorker: this process supervises one `jcl worker` per GPU (worker/src/distributed/pod-processes.ts).
  let procs: number;
  try {
    procs = procsPerWorker(env);
  } catch (err) {
    const message = describeError(err);
    writeTerminationMessage(
      JSON.stringify({ ok: false, reason: 'invalid_config', exitCode: 64, message }),
      terminationLog,
    );
    process.stderr.write(`jcl worker: ${message}\n`);
    return 64;
  }
  if (procs > 1) return runPodProcesses({ env, args: argv, terminationLog });
  const worldSize = Number(env.JCL_WORLD_SIZE ?? '1');
  const log = createLogger({ base: { rank: Number(env.JCL_RANK ?? '0') }, pretty: false });
  try {
    if (!env.JCL_CONFIG_FILE)
      throw new JclError(
        'invalid_config',
        'JCL_CONFIG_FILE: required (path of the training config), got nothing',
      );
    const cfg = resolveConfig({
      preset: 'none',
      configFile: env.JCL_CONFIG_FILE,
      env,
      // JCL_RUN_DIR and JCL_DATA_PATH are the worker contract's run directory and dataset path (the
      // operator's choice, the same paths the config file names in a cluster; a node that remaps mounts
      // rewrites only the env): they act as --out and --data-path.
      flags: {
        ...(env.JCL_RUN_DIR ? { out: env.JCL_RUN_DIR } : {}),
        ...(env.JCL_DATA_PATH ? { 'data-path': env.JCL_DATA_PATH } : {}),
      },
      worldSize: Number.isInteger(worldSize) && worldSize > 0 ? worldSize : 1,
    });
    const collective = await createCollectiveFromEnv(env, log);
    let failure: unknown = null;
    try {
      collective.status.update({ phase: 'training' });
      const result = await runJob(cfg, {
        collective,
        log,
        progress: false,
        // `jcl train --workers N` on a terminal draws rank 0's progress bar from these lines (gang-output.ts).
        onProgress:
          env.JCL_PROGRESS === 'json' && Number(env.JCL_RANK ?? '0') === 0
            ? (p) => process.stdout.write(JSON.stringify({ type: PROGRESS_LINE_TYPE, ...p }) + '\n')
            : undefined,
        onStatus: (s) =>
          collective.status.update({
            phase: 'training',
            epoch: s.epoch as number,
            step: s.globalStep as number,
            lossTotal: s.loss as number,
            lossCls: s.lossCls as number,
            lossJcl: s.lossJcl as number,
            contrastAcc: s.contrastAcc as number,
            imagesPerSec: s.imagesPerSec as number,
            lastCheckpoint: (s.lastCheckpoint as string | null) ?? undefined,
          }),
        stopAfterGlobalStep: values['stop-after-step'] ? Number(values['stop-after-step']) : undefined,
      });
      collective.status.update({ phase: 'done' });
      const knn = result.summary.knn;
      writeTerminationMessage(
        JSON.stringify({
          ok: true,
          steps: result.summary.globalStep,
          loss: result.summary.final?.loss,
          knnTop1: knn?.top1,
          knnTop5: knn?.top5,
          checkpoint: result.summary.lastCheckpoint,
        }),
        terminationLog,
      );
      log.info({ steps: result.summary.globalStep, knnTop1: knn?.top1 }, 'worker finished');
      return 0;
    } catch (err) {
      failure = err;
      throw err;
    } finally {
      // On failure, abort tells the peers at once (they exit 75 naming this rank) instead of leaving
      // them to discover it at their peer timeout; on success, close waits at a closing barrier.
      if (failure === null) await collective.close();
      else await collective.abort(failure);
    }
  } catch (err) {
    const code = err instanceof JclError ? err.exitCode : 1;
    const reason = err instanceof JclError ? err.code : 'internal';
    log.error({ code, reason, err: describeError(err) }, 'worker failed');
    writeTerminationMessage(
      JSON.stringify({ ok: false, reason, exitCode: code, message: describeError(err).slice(0, 3000) }),
      terminationLog,
    );
    return code;
  }
}
