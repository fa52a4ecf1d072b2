/**
 * TypeBox (JSON Schema 2019-09) → structural OpenAPI v3 schema, as apiextensions.k8s.io/v1 requires
 * (kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions, "Specifying a
 * structural schema"). The conversions:
 *  1. unions of string literals → `type: string` + `enum` (structural schemas forbid bare anyOf types);
 *  2. numeric `exclusiveMinimum: n` (2019-09) → `minimum: n, exclusiveMinimum: true` (OpenAPI 3.0);
 *  3. `const` → a one-value `enum`;
 *  4. properties with a `default` leave `required` (the apiserver defaults them before validating);
 *  5. strings without a bound get `maxLength` so that CEL rules over them (e.g. `self == oldSelf`) stay
 *     within the apiserver's cost budget;
 *  6. `additionalProperties` of a TypeBox Record becomes the CRD map form; `patternProperties` goes away;
 *  7. an object's `default` is completed with its children's defaults (`{}` → the full default object):
 *     the apiserver checks a default against the node's CEL rules without defaulting inside it.
 * `default` values are kept: CRDs allow them and they make `kubectl get -o yaml` show the effective config.
 */

/** A JSON-schema node as TypeBox emits it (symbols are dropped by the JSON round trip). */
export type SchemaNode = Record<string, unknown>;

/** Bound for otherwise unbounded strings (rule 5). */
export const DEFAULT_STRING_MAX_LENGTH = 4096;

const KEPT_KEYS = new Set([
  'type',
  'format',
  'description',
  'default',
  'enum',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minProperties',
  'maxProperties',
  'nullable',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
  'x-kubernetes-validations',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
]);

/** Convert one TypeBox schema to a structural OpenAPI v3 schema (a fresh, plain object). */
export function toStructuralSchema(input: unknown): SchemaNode {
  const node = JSON.parse(JSON.stringify(input)) as SchemaNode;
  return convert(node, '');
}

function convert(node: SchemaNode, path: string): SchemaNode {
  const literals = literalUnion(node);
  if (literals) {
    return pick({ ...node, type: 'string', enum: literals });
  }
  if (node['x-kubernetes-int-or-string'] === true) {
    return pick({ ...node, anyOf: undefined });
  }
  if (node.anyOf !== undefined || node.oneOf !== undefined || node.allOf !== undefined) {
    throw new Error(
      `${path || '<root>'}: unions other than string literals have no structural form, got ${JSON.stringify(node).slice(0, 200)}`,
    );
  }
  const out = pick(node);
  if ('const' in node) out.enum = [node.const];
  for (const bound of ['exclusiveMinimum', 'exclusiveMaximum'] as const) {
    if (typeof node[bound] === 'number') {
      out[bound === 'exclusiveMinimum' ? 'minimum' : 'maximum'] = node[bound];
      out[bound] = true;
    }
  }
  if (
    out.type === 'string' &&
    out.enum === undefined &&
    out.maxLength === undefined &&
    out.format === undefined
  ) {
    out.maxLength = DEFAULT_STRING_MAX_LENGTH;
  }
  if (out.type === 'object') {
    const props = node.properties as Record<string, SchemaNode> | undefined;
    if (props) {
      out.properties = Object.fromEntries(
        Object.entries(props).map(([k, v]) => [k, convert(v, `${path}.${k}`)]),
      );
      const required = ((node.required as string[] | undefined) ?? []).filter(
        (k) => props[k]?.default === undefined,
      );
      if (required.length > 0) out.required = required;
      if (out.default !== null && typeof out.default === 'object' && !Array.isArray(out.default)) {
        out.default = completeDefault(
          out.default as Record<string, unknown>,
          out.properties as Record<string, SchemaNode>,
        );
      }
    }
    const pattern = node.patternProperties as Record<string, SchemaNode> | undefined;
    const additional = node.additionalProperties;
    if (pattern && Object.keys(pattern).length === 1) {
      out.additionalProperties = convert(Object.values(pattern)[0], `${path}.*`);
    } else if (typeof additional === 'object' && additional !== null) {
      out.additionalProperties = convert(additional as SchemaNode, `${path}.*`);
    }
  }
  if (out.type === 'array' && node.items) {
    out.items = convert(node.items as SchemaNode, `${path}[]`);
  }
  return out;
}

/** Rule 7: fill in the defaults of the children that the given default leaves out. */
function completeDefault(
  given: Record<string, unknown>,
  props: Record<string, SchemaNode>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, child] of Object.entries(props)) {
    if (k in given) out[k] = given[k];
    else if (child.default !== undefined) out[k] = structuredClone(child.default);
  }
  return out;
}

/** The string values of a union of string literals, or undefined for any other node. */
function literalUnion(node: SchemaNode): string[] | undefined {
  const members = (node.anyOf ?? node.oneOf) as SchemaNode[] | undefined;
  if (!Array.isArray(members) || members.length === 0) return undefined;
  const values = members.map((m) => m.const);
  return values.every((v) => typeof v === 'string') ? (values as string[]) : undefined;
}

function pick(node: SchemaNode): SchemaNode {
  const out: SchemaNode = {};
  for (const [k, v] of Object.entries(node)) {
    if (KEPT_KEYS.has(k) && v !== undefined) out[k] = v;
  }
  if (node['x-kubernetes-int-or-string'] === true) delete out.type;
  return out;
}
