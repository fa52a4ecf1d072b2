/** Renders the chart with inline values (written to a temp values file, as `helm install -f` would read them). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { renderChart, type K8sObject } from '../../../scripts/check-chart.ts';

export type { K8sObject };

export function renderWith(
  values: Record<string, unknown> = {},
  opts: { release?: string; namespace?: string } = {},
): K8sObject[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jcl-chart-'));
  try {
    const file = path.join(dir, 'values.json');
    writeFileSync(file, JSON.stringify(values));
    return renderChart({ ...opts, valuesFiles: [file] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `Kind/name` (namespace-qualified when namespaced) of each object, sorted. */
export const inventory = (objs: K8sObject[]): string[] =>
  objs
    .map((o) => `${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`)
    .sort();

export const find = (objs: K8sObject[], kind: string, name?: string): K8sObject => {
  const o = objs.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name));
  if (!o) throw new Error(`no ${kind}${name ? `/${name}` : ''} in ${inventory(objs).join(', ')}`);
  return o;
};
