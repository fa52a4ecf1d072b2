/**
 * The run report as one self-contained HTML page: the Chart.js UMD bundle inlined (no network, no
 * CDN), the report model as inert JSON, and a small script that draws every chart without animation
 * and then marks the page: `<body data-charts-drawn="N" data-charts-nonblank="M">` and
 * `#render-status`, so a headless browser can check that the charts really rendered. Pure: strings in,
 * a string out.
 */
import type { ReportModel } from './report-model.ts';

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** JSON safe inside a <script> element: no "</script>" or "<!--" can appear. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

// Runs in the browser. Kept as plain ES2017 so any Chromium of the last years runs it.
const DRAW_SCRIPT = `
(function () {
  var model = JSON.parse(document.getElementById('report-model').textContent);
  var palette = ${JSON.stringify(PALETTE)};
  var drawn = 0, nonblank = 0, errors = [];
  model.charts.forEach(function (spec) {
    try {
      var canvas = document.getElementById('chart-' + spec.id);
      var datasets = spec.series.map(function (s, i) {
        var colour = palette[i % palette.length];
        return spec.kind === 'bar'
          ? { label: s.label, data: s.points.map(function (p) { return p.y; }), backgroundColor: colour + 'aa' }
          : { label: s.label, data: s.points, borderColor: colour, backgroundColor: colour, pointRadius: s.points.length > 60 ? 0 : 2, borderWidth: 1.5, showLine: true };
      });
      new Chart(canvas.getContext('2d'), {
        type: spec.kind === 'bar' ? 'bar' : 'scatter',
        data: spec.kind === 'bar' ? { labels: spec.categories, datasets: datasets } : { datasets: datasets },
        options: {
          animation: false,
          responsive: false,
          plugins: { title: { display: false } },
          scales: {
            x: spec.kind === 'bar' ? { title: { display: true, text: spec.xLabel } } : { type: 'linear', title: { display: true, text: spec.xLabel } },
            y: { type: spec.logY ? 'logarithmic' : 'linear', title: { display: true, text: spec.yLabel } }
          }
        }
      });
      drawn++;
      var ctx = canvas.getContext('2d');
      var px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      var painted = 0;
      for (var i = 3; i < px.length; i += 4) if (px[i] !== 0) painted++;
      if (painted > 500) nonblank++;
    } catch (e) {
      errors.push(spec.id + ': ' + e);
    }
  });
  document.body.setAttribute('data-charts-total', String(model.charts.length));
  document.body.setAttribute('data-charts-drawn', String(drawn));
  document.body.setAttribute('data-charts-nonblank', String(nonblank));
  var status = document.getElementById('render-status');
  status.textContent = errors.length ? 'chart errors: ' + errors.join('; ') : 'rendered ' + nonblank + ' of ' + model.charts.length + ' charts';
  status.setAttribute('data-ok', String(errors.length === 0 && nonblank === model.charts.length));
})();
`;

/** The whole page; `chartJs` is the source of Chart.js's UMD bundle (chart.umd.min.js). */
export function renderReportHtml(model: ReportModel, chartJs: string, generatedAt: string): string {
  if (!chartJs.includes('Chart'))
    throw new Error('chartJs: expected the Chart.js UMD bundle source, got something else');
  const charts = model.charts
    .map(
      (c) =>
        `<section class="chart"><h2>${escapeHtml(c.title)}</h2><canvas id="chart-${escapeHtml(c.id)}" width="720" height="320"></canvas></section>`,
    )
    .join('\n');
  const tables = model.tables
    .map((t) => {
      const head = t.columns.some((c) => c !== '')
        ? `<thead><tr>${t.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr></thead>`
        : '';
      const rows = t.rows
        .map((r) => `<tr>${r.map((v) => `<td>${escapeHtml(String(v))}</td>`).join('')}</tr>`)
        .join('');
      return `<section><h2>${escapeHtml(t.title)}</h2><table>${head}<tbody>${rows}</tbody></table></section>`;
    })
    .join('\n');
  const notes = model.notes.map((n) => `<p class="note">${escapeHtml(n)}</p>`).join('\n');
  // The inlined library must not end the script element early.
  const lib = chartJs.replace(/<\/script/gi, '<\\/script');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(model.title)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-bottom: 0.3em; }
.grid { display: flex; flex-wrap: wrap; gap: 1.5em; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; vertical-align: top; }
.note, #render-status { color: #666; }
</style>
</head>
<body>
<h1>${escapeHtml(model.title)}</h1>
<p>${escapeHtml(model.subtitle)}</p>
<p>Generated ${escapeHtml(generatedAt)} by <code>jcl report</code>. <span id="render-status" data-ok="false">charts not drawn (JavaScript off?)</span></p>
${notes}
${tables}
<div class="grid">
${charts}
</div>
<script type="application/json" id="report-model">${jsonForScript(model)}</script>
<script>${lib}</script>
<script>${DRAW_SCRIPT}</script>
</body>
</html>
`;
}
