/**
 * Writes <run dir>/report.html from the run's files. I/O edge shared by `jcl report` and the end of
 * `jcl train`: reads the records, the Chart.js bundle from node_modules, writes the page.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { renderReportHtml } from './render-html.ts';
import { buildReportModel } from './report-model.ts';
import { readRunRecords } from './run-records.ts';

/** Source of Chart.js's UMD bundle (the package's exports hide the file, so resolve the main entry). */
export function readChartJsBundle(): string {
  const main = createRequire(import.meta.url).resolve('chart.js'); // .../chart.js/dist/chart.cjs
  return readFileSync(join(dirname(main), 'chart.umd.min.js'), 'utf8');
}

/** Builds and writes the report; returns its path and how many charts and tables it holds. */
export function writeRunReport(
  runDir: string,
  now = new Date(),
): { path: string; charts: number; tables: number } {
  const model = buildReportModel(readRunRecords(runDir));
  const path = join(runDir, 'report.html');
  writeFileSync(path, renderReportHtml(model, readChartJsBundle(), now.toISOString()));
  return { path, charts: model.charts.length, tables: model.tables.length };
}
