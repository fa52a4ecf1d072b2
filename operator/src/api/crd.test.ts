import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CEL_RULES, NAME_RULES, buildCrd, buildSpecSchema } from './crd.ts';
import { CRD_FILE, renderCrdYaml } from './crd-yaml.ts';
import { toStructuralSchema } from './openapi.ts';
import { Type } from '@sinclair/typebox';
import { LEADER_ELECTION_RULES, OPERATOR_RULES } from './rbac.ts';

/** A node of the generated OpenAPI schema, read as far as these tests look into it. */
interface Node {
  description?: string;
  properties?: Record<string, Node>;
  items?: Node;
  additionalProperties?: Node | boolean;
  'x-kubernetes-validations'?: { rule: string; message?: string; fieldPath?: string }[];
  [key: string]: unknown;
}
/** The CRD's one version, as buildCrd() returns it. */
interface CrdVersion {
  schema: { openAPIV3Schema: Node & { properties: Record<string, Node> } };
}
const at = (root: Node, dotted: string): Node =>
  dotted.split('.').reduce((n, k) => n.properties?.[k] ?? {}, root);
const version = (): CrdVersion => (buildCrd().spec as { versions: CrdVersion[] }).versions[0];

describe('the generated CRD', () => {
  it('is checked in unchanged (run npm run generate:crd after changing the schemas)', () => {
    const file = fileURLToPath(new URL(`../../../${CRD_FILE}`, import.meta.url));
    expect(readFileSync(file, 'utf8')).toBe(renderCrdYaml());
  });

  it('declares the API: names, status subresource and printer columns', () => {
    const crd = parse(renderCrdYaml());
    expect(crd.metadata.name).toBe('jcltrainingjobs.training.jcl.dev');
    expect(crd.spec.names).toMatchObject({
      kind: 'JCLTrainingJob',
      plural: 'jcltrainingjobs',
      shortNames: ['jcljob'],
    });
    const v = crd.spec.versions[0];
    expect([v.name, v.subresources]).toEqual(['v1alpha1', { status: {} }]);
    expect(
      v.additionalPrinterColumns.map((c: { name: string; jsonPath: string }) => `${c.name}=${c.jsonPath}`),
    ).toEqual([
      'Phase=.status.phase',
      'Ready=.status.ready',
      'Epoch=.status.progress.epoch',
      'Loss=.status.progress.loss',
      'Top1=.status.evaluation.top1',
      'Restarts=.status.restarts',
      'Scheduling=.status.conditions[?(@.type=="Unschedulable")].message',
      'Age=.metadata.creationTimestamp',
    ]);
  });

  // The CEL rules the apiserver enforces, table-driven: where each sits and what it says.
  it.each([
    [
      '',
      'self.workers < 1 || self.training.optim.batchSize % (self.workers * (has(self.template.procsPerWorker) ? self.template.procsPerWorker : 1)) == 0',
      '.training.optim.batchSize',
    ],
    [
      '',
      'self.training.optim.batchSize < 1 || self.training.jcl.queueSize % self.training.optim.batchSize == 0',
      '.training.jcl.queueSize',
    ],
    [
      '',
      '!has(self.runPolicy.schedulingPolicy) || !has(self.runPolicy.schedulingPolicy.minAvailable) || self.runPolicy.schedulingPolicy.minAvailable <= self.workers',
      '.runPolicy.schedulingPolicy.minAvailable',
    ],
    ['runPolicy.schedulingPolicy', "self.provider != 'kueue' || has(self.queue)", '.queue'],
    ['template.procsPerWorker', 'self == oldSelf', undefined],
    ['training.jcl', 'self.positives >= 1', '.positives'],
    ['training.jcl', 'self.temperature > 0.0', '.temperature'],
    ['workers', 'self == oldSelf', undefined],
    ['training', 'self == oldSelf', undefined],
  ])('spec%s carries the rule %s', (path, rule, fieldPath) => {
    const spec = buildSpecSchema();
    const node = path === '' ? (spec as Node) : at(spec as Node, path);
    const found = node['x-kubernetes-validations']?.find((r) => r.rule === rule);
    expect(found?.fieldPath).toBe(fieldPath);
    expect(found?.message).toMatch(/^spec\./);
  });

  // Issue 19: `kubectl explain` had nothing to say for 108 of 152 nodes. Array items and map values are
  // explained by their field; every named field, its object and the roots carry a description.
  it('describes every field under spec and status (kubectl explain)', () => {
    const root = version().schema.openAPIV3Schema;
    const undescribed: string[] = [];
    const walk = (node: Node, path: string) => {
      if (typeof node.description !== 'string' || node.description.trim() === '') undescribed.push(path);
      for (const [k, v] of Object.entries(node.properties ?? {})) walk(v, `${path}.${k}`);
      const inner =
        node.items ?? (typeof node.additionalProperties === 'object' ? node.additionalProperties : null);
      for (const [k, v] of Object.entries(inner?.properties ?? {})) walk(v, `${path}[].${k}`);
    };
    walk(root.properties.spec, 'spec');
    walk(root.properties.status, 'status');
    expect(undescribed).toEqual([]);
  });

  it('names the values in every message it can', () => {
    // The rules that compare values (cross-field and bounds) say which values they saw; format() keeps
    // them within the CEL cost budget (string() of a number does not).
    const valued = Object.values(CEL_RULES)
      .flat()
      .filter((r) => r.messageExpression !== undefined);
    expect(valued.map((r) => r.fieldPath)).toEqual(
      expect.arrayContaining([
        '.training.optim.batchSize',
        '.training.jcl.queueSize',
        '.dataset.path',
        '.checkpoints.claimName',
        '.positives',
        '.temperature',
        '.warmupEpochs',
        '.cropScaleMin',
        '.blurSigmaMin',
      ]),
    );
    for (const r of valued) expect(r.messageExpression, r.rule).toMatch(/\.format\(\[(size\()?self\./);
    for (const r of NAME_RULES) {
      expect(r.fieldPath).toBe('.metadata.name');
      expect(r.messageExpression).toContain('self.metadata.name');
    }
  });

  it('places every rule on an existing schema node', () => {
    expect(() => buildSpecSchema()).not.toThrow();
    expect(Object.keys(CEL_RULES).length).toBeGreaterThan(4);
  });

  it('converts TypeBox to a structural schema: literal unions → enum, exclusive bounds, bounded strings, complete defaults', () => {
    const schema = Type.Object({
      mode: Type.Union([Type.Literal('a'), Type.Literal('b')], { default: 'a' }),
      tau: Type.Number({ exclusiveMinimum: 0, default: 0.2 }),
      path: Type.String({ default: '' }),
      inner: Type.Object({ k: Type.Integer({ default: 3 }) }, { default: {} }),
      must: Type.Integer(),
    });
    expect(toStructuralSchema(schema)).toEqual({
      type: 'object',
      required: ['must'],
      properties: {
        mode: { type: 'string', enum: ['a', 'b'], default: 'a' },
        tau: { type: 'number', minimum: 0, exclusiveMinimum: true, default: 0.2 },
        path: { type: 'string', default: '', maxLength: 4096 },
        inner: { type: 'object', default: { k: 3 }, properties: { k: { type: 'integer', default: 3 } } },
        must: { type: 'integer' },
      },
    });
  });

  it('refuses unions that have no structural form, naming the field', () => {
    expect(() => toStructuralSchema(Type.Object({ x: Type.Union([Type.String(), Type.Number()]) }))).toThrow(
      /^\.x: unions other than string literals/,
    );
  });

  it('keeps the training schema the worker validates, defaults included', () => {
    const spec = buildSpecSchema();
    expect(version().schema.openAPIV3Schema.properties.spec).toEqual(spec);
    expect(at(spec, 'training.model.arch')).toMatchObject({
      type: 'string',
      enum: ['resnet18', 'resnet50', 'resnet18-cifar', 'resnet-tiny'],
      default: 'resnet50',
    });
    expect(at(spec, 'training.jcl.temperature')).toMatchObject({
      type: 'number',
      minimum: 0,
      exclusiveMinimum: true,
      default: 0.2,
    });
    expect(at(spec as Node, 'training').default).toMatchObject({ optim: { batchSize: 512 } });
  });
});

describe('RBAC', () => {
  const can = (group: string, resource: string, verb: string) =>
    [...OPERATOR_RULES, ...LEADER_ELECTION_RULES].some(
      (r) => r.apiGroups?.includes(group) && r.resources?.includes(resource) && r.verbs.includes(verb),
    );
  it.each([
    ['training.jcl.dev', 'jcltrainingjobs', ['get', 'list', 'watch', 'delete']],
    ['training.jcl.dev', 'jcltrainingjobs/status', ['update']],
    ['', 'pods', ['list', 'watch', 'create', 'patch', 'delete']],
    ['', 'services', ['list', 'watch', 'create']],
    ['', 'configmaps', ['create']],
    ['', 'secrets', ['get', 'create']],
    ['', 'events', ['create']],
    ['networking.k8s.io', 'networkpolicies', ['create']],
    ['batch', 'jobs', ['list', 'watch', 'create']],
    ['coordination.k8s.io', 'leases', ['get', 'create', 'update']],
  ])('grants %s/%s: %j', (group, resource, verbs) => {
    for (const verb of verbs as string[]) expect(can(group as string, resource as string, verb)).toBe(true);
  });
  it('grants nothing the operator does not use', () => {
    expect(can('', 'secrets', 'list')).toBe(false);
    expect(can('', 'pods', 'update')).toBe(false);
    expect(can('', 'nodes', 'get')).toBe(false);
  });
});
