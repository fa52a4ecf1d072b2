/**
 * `jcl report RUN_DIR`: writes RUN_DIR/report.html, a self-contained page (Chart.js inlined, no
 * network) with the loss terms, contrast accuracy, lr, lambda, images/s and k-NN accuracy of the run,
 * its evaluations (evaluations.jsonl, summary.json) and feature statistics (features.json).
 */
import { existsSync, statSync } from 'node:fs';
import { writeRunReport } from '../report/write-report.ts';
import { JclError } from '../util/errors.ts';
import { parseFlags } from './parse-flags.ts';

const HELP = `usage: jcl report RUN_DIR

Writes RUN_DIR/report.html from metrics.jsonl, evaluations.jsonl, summary.json and features.json
(whichever exist). The page needs no network: open it in any browser.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, {}, true);
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  if (positionals.length !== 1)
    throw new JclError(
      'invalid_config',
      `RUN_DIR: expected exactly one run directory, got ${JSON.stringify(positionals)}`,
    );
  const runDir = positionals[0];
  if (!existsSync(runDir) || !statSync(runDir).isDirectory())
    throw new JclError('not_found', `RUN_DIR: not a directory, got ${JSON.stringify(runDir)}`);
  const r = writeRunReport(runDir);
  if (r.charts === 0 && r.tables === 0)
    throw new JclError(
      'not_found',
      `RUN_DIR: no metrics.jsonl, summary.json, evaluations.jsonl or features.json in ${runDir}`,
    );
  process.stdout.write(`report written to ${r.path} (${r.charts} charts, ${r.tables} tables)\n`);
  return 0;
}
