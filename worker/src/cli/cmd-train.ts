/** `jcl train`: local training, by default the embedded demo (synthetic data, tiny ResNet). */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { launchLocalWorkers } from '../distributed/launch-local.ts';
import { LocalCollective } from '../distributed/collective.ts';
import { createLogger, type Logger } from '../util/logger.ts';
import { JclError } from '../util/errors.ts';
import type { TrainingConfig } from '../config/schema.ts';
import { CONFIG_LAYERS, FLAG_FIELDS, resolveConfig } from './config-sources.ts';
import { createGangOutput } from './gang-output.ts';
import { parseFlags } from './parse-flags.ts';
import { createProgressBar } from './progress-bar.ts';
import { openResume } from '../train/open-resume.ts';
import { readKeptResult, runJob, type JobResult } from './run-job.ts';

const HELP = `usage: jcl train [--preset demo|paper|fashion-mnist|none] [--config FILE] [--workers N] [flags] [--set section.field=value ...]

With no options this runs the embedded demo: JCL on the built-in synthetic dataset with a tiny ResNet,
then k-NN evaluation, writing checkpoints, metrics.jsonl, summary.json and the exported backbone under
runs/demo. Flags (each sets one field of the training configuration):
${Object.entries(FLAG_FIELDS)
  .map(([f, s]) => `  --${f.padEnd(24)} ${s.path}`)
  .join('\n')}

Where a setting comes from, highest priority first (each layer overrides the ones below it):
${CONFIG_LAYERS.map((l, i) => `  ${i + 1}. ${l}`).join('\n')}`;

export async function run(argv: string[]): Promise<number> {
  const options = Object.fromEntries(
    Object.entries(FLAG_FIELDS).map(([f, s]) => [
      f,
      { type: s.type === 'bool' ? ('boolean' as const) : ('string' as const) },
    ]),
  );
  const { values } = parseFlags(argv, {
    ...options,
    preset: { type: 'string' },
    config: { type: 'string' },
    workers: { type: 'string' },
    set: { type: 'string', multiple: true },
  });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const workers = values.workers === undefined ? 1 : Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64)
    throw new JclError(
      'invalid_config',
      `--workers: expected an integer from 1 to 64, got ${JSON.stringify(values.workers)}`,
    );
  const preset = (values.preset as string | undefined) ?? (values.config ? 'none' : 'demo');
  const cfg = resolveConfig({
    preset,
    configFile: values.config as string | undefined,
    env: process.env,
    flags: values as Record<string, string | boolean | undefined>,
    sets: values.set as string[] | undefined,
    worldSize: workers,
  });
  const log = createLogger({ level: cfg.runtime.logLevel });
  if (workers > 1) {
    // The run directory is checked before config.json is written into it (a mismatch exits 64 untouched).
    const kept = readKeptResult(
      cfg.runtime.outDir,
      await openResume(cfg, cfg.runtime.outDir, (msg, where) => log.warn({ where }, msg)),
    );
    if (kept) return reportComplete(cfg, kept);
    // Same code path as the pods: N `jcl worker` processes on loopback, config passed as a file.
    mkdirSync(cfg.runtime.outDir, { recursive: true });
    const cfgPath = resolve(join(cfg.runtime.outDir, 'config.json'));
    writeFileSync(cfgPath, JSON.stringify(cfg, null, 2));
    log.info({ workers, config: cfgPath }, 'launching local data-parallel workers');
    // On a terminal the gang looks like one process: rank 0's bar and logs, the others' warnings.
    const view =
      process.stderr.isTTY && process.env.JCL_LOG_FORMAT !== 'json'
        ? createGangOutput({
            bar: createProgressBar(process.stderr),
            write: (t) => process.stderr.write(t),
          })
        : null;
    const code = await launchLocalWorkers({
      workers,
      log,
      env: {
        JCL_CONFIG_FILE: cfgPath,
        JCL_RUN_DIR: resolve(cfg.runtime.outDir),
        JCL_LOG_FORMAT: 'json',
        ...(view ? { JCL_PROGRESS: 'json' } : {}),
      },
      onLine: view?.onLine,
    });
    view?.done();
    if (code !== 0) return code;
    // Rank 0 wrote summary.json as a single process would; the ending reads the same.
    const summaryPath = join(cfg.runtime.outDir, 'summary.json');
    const summary = JSON.parse(readFileSync(summaryPath, 'utf8')) as JobResult['summary'];
    return finish(cfg, summary, log, { exportDir: join(cfg.runtime.outDir, 'backbone'), summaryPath });
  }
  const result = await runJob(cfg, {
    collective: new LocalCollective(),
    log,
    progress: Boolean(process.stderr.isTTY),
  });
  if (result.complete) return reportComplete(cfg, result);
  return finish(cfg, result.summary, log, result);
}

/** The end of a training run, the same for one process and a gang: result line, run dir, report. */
async function finish(
  cfg: TrainingConfig,
  summary: JobResult['summary'],
  log: Logger,
  where: { exportDir: string | null; summaryPath: string | null },
): Promise<number> {
  log.info(
    {
      steps: summary.globalStep,
      loss: summary.final?.loss,
      contrastAcc: summary.final?.contrastAcc,
      knnTop1: summary.knn?.top1,
      knnTop5: summary.knn?.top5,
      checkpoint: summary.lastCheckpoint,
      backbone: where.exportDir,
      summary: where.summaryPath,
    },
    'training finished',
  );
  writeKnnLine(summary);
  process.stdout.write(
    `run directory: ${cfg.runtime.outDir} (summary.json, metrics.jsonl, checkpoints/, backbone/model.json)\n`,
  );
  // The report is a convenience: a failure to write it is logged, the training result stands.
  try {
    const { writeRunReport } = await import('../report/write-report.ts');
    process.stdout.write(`report written to ${writeRunReport(cfg.runtime.outDir).path}\n`);
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'could not write report.html (jcl report RUN_DIR retries)');
  }
  return 0;
}

/** A finished run re-run with a config that continues it: say so, show its kept results, write nothing. */
function reportComplete(cfg: TrainingConfig, kept: JobResult): number {
  const s = kept.summary;
  process.stdout.write(
    `run directory ${cfg.runtime.outDir} is already complete: ${s.epochs} epochs, step ${s.globalStep}. ` +
      `Its results are kept (summary.json unchanged). To train further ask for more epochs ` +
      `(--epochs N, N > ${cfg.optim.epochs}); for a new run, --out DIR.\n`,
  );
  writeKnnLine(s);
  return 0;
}

function writeKnnLine(summary: JobResult['summary']): void {
  if (summary.knn)
    process.stdout.write(
      `k-NN top-1 ${pct(summary.knn.top1)}  top-5 ${pct(summary.knn.top5)}  (k=${summary.knn.k}, ${summary.knn.testSize} test images)` +
        (summary.knnRandomInit
          ? `; the same backbone at random initialisation: top-1 ${pct(summary.knnRandomInit.top1)}`
          : '') +
        '\n',
    );
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}
