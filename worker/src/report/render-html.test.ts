import { describe, expect, it } from 'vitest';
import { escapeHtml, jsonForScript, renderReportHtml } from './render-html.ts';
import type { ReportModel } from './report-model.ts';

const model: ReportModel = {
  title: 'run <a&b>',
  subtitle: 'jcl',
  charts: [
    {
      id: 'loss',
      title: 'Loss',
      kind: 'line',
      xLabel: 'step',
      yLabel: 'loss',
      series: [{ label: '</script>', points: [{ x: 1, y: 2 }] }],
    },
  ],
  tables: [{ title: 'T', columns: ['a', 'b'], rows: [['<i>', 1]] }],
  notes: [],
};

describe('renderReportHtml', () => {
  const html = renderReportHtml(model, 'window.Chart = function Chart() {};', '2026-01-01T00:00:00.000Z');

  it('inlines the library and needs no network', () => {
    expect(html).toContain('window.Chart = function Chart() {};');
    expect(html).not.toMatch(/\bsrc=/);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).toContain("default-src 'none'");
  });

  it('escapes text and keeps the embedded JSON inert', () => {
    expect(html).toContain('<title>run &lt;a&amp;b&gt;</title>');
    expect(html).toContain('<td>&lt;i&gt;</td>');
    expect(html.match(/<\/script>/g)).toHaveLength(3); // the model, the library and the draw script
    const json = html.match(/<script type="application\/json" id="report-model">(.*?)<\/script>/s)![1];
    expect(JSON.parse(json)).toEqual(model);
    expect(html).toContain('<canvas id="chart-loss"');
  });

  it('refuses something that is not the Chart.js bundle', () => {
    expect(() => renderReportHtml(model, '', 'now')).toThrow(
      'chartJs: expected the Chart.js UMD bundle source',
    );
  });

  it('helpers', () => {
    expect(escapeHtml(`"'&`)).toBe('&quot;&#39;&amp;');
    expect(jsonForScript({ s: '</script><!--' })).toBe('{"s":"\\u003c/script>\\u003c!--"}');
  });
});
