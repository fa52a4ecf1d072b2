/**
 * Pure translation of a container's environment the way the kubelet does it: `env` (value, fieldRef,
 * resourceFieldRef, secretKeyRef, configMapKeyRef), `envFrom`, and `$(VAR)` expansion; plus the harness's
 * path mapping, which rewrites in-container mount paths to the local directories backing them so the
 * worker needs no test-only code.
 */
import type { V1Container, V1Pod } from '@kubernetes/client-node';

/** Key/value data of the ConfigMaps and Secrets a pod references (Secret values already decoded). */
export interface ReferencedData {
  configMaps: Map<string, Record<string, string>>;
  secrets: Map<string, Record<string, string>>;
}

/** In-container path prefix -> local path. */
export type PathMapping = ReadonlyArray<{ containerPath: string; localPath: string }>;

/** Values the kubelet knows only at run time. */
export interface RuntimeFields {
  podIP: string;
  hostIP: string;
}

/** A `$(VAR)` reference expanded against `vars`; `$$(VAR)` is the escape for a literal `$(VAR)`, unknown refs stay as they are. */
export function expandVarRefs(input: string, vars: Readonly<Record<string, string>>): string {
  return input.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return name !== undefined && Object.hasOwn(vars, name) ? vars[name] : match;
  });
}

/** Replaces every mapped in-container path prefix in `value` (longest prefix first, whole path segments only). */
export function rewritePaths(value: string, mapping: PathMapping): string {
  if (mapping.length === 0) return value;
  // One pass over the string with every mount path as an alternative, longest first: a replaced local
  // path is never matched again (a /tmp mount must not rewrite the /tmp/... local path of another mount).
  const sorted = [...mapping].sort((a, b) => b.containerPath.length - a.containerPath.length);
  const byPath = new Map(sorted.map((m) => [m.containerPath, m.localPath]));
  const alternatives = sorted.map((m) => m.containerPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
  // Match only at a path boundary on both sides: /data must not rewrite /database or /x/data.
  const pattern = new RegExp(`(^|[=:,\\s"'])(${alternatives})(?=$|[/:,\\s"'])`, 'g');
  return value.replace(pattern, (_m, lead: string, path: string) => `${lead}${byPath.get(path)}`);
}

/** Resolves `metadata.labels['x']`-style and plain field paths of the downward API. */
export function resolveFieldRef(pod: V1Pod, fieldPath: string, runtime: RuntimeFields): string {
  const keyed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (keyed) {
    const source = keyed[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations;
    return source?.[keyed[2]] ?? '';
  }
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata?.name ?? '';
    case 'metadata.namespace':
      return pod.metadata?.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata?.uid ?? '';
    case 'metadata.labels':
      return formatMap(pod.metadata?.labels);
    case 'metadata.annotations':
      return formatMap(pod.metadata?.annotations);
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP':
    case 'status.podIPs':
      return runtime.podIP;
    case 'status.hostIP':
    case 'status.hostIPs':
      return runtime.hostIP;
    default:
      throw new Error(`env fieldRef.fieldPath: unsupported by the node harness, got '${fieldPath}'`);
  }
}

function formatMap(map: Record<string, string> | undefined): string {
  return Object.entries(map ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${v}"`)
    .join('\n');
}

function lookup(
  kind: 'configMap' | 'secret',
  store: Map<string, Record<string, string>>,
  name: string,
  key: string,
  optional: boolean | undefined,
): string | undefined {
  const data = store.get(name);
  const value = data?.[key];
  if (value === undefined && !optional) {
    throw new Error(`${kind}KeyRef: ${kind} '${name}' key '${key}' not found (CreateContainerConfigError)`);
  }
  return value;
}

/**
 * The container's environment in declaration order with `$(VAR)` references expanded against earlier
 * entries, and mapped paths rewritten. Throws, naming the variable, when a required reference is missing.
 */
export function resolveContainerEnv(
  pod: V1Pod,
  container: V1Container,
  data: ReferencedData,
  runtime: RuntimeFields,
  mapping: PathMapping,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const prefix = source.prefix ?? '';
    const entries = source.configMapRef
      ? data.configMaps.get(source.configMapRef.name ?? '')
      : source.secretRef
        ? data.secrets.get(source.secretRef.name ?? '')
        : undefined;
    const optional = source.configMapRef?.optional ?? source.secretRef?.optional;
    if (entries === undefined && !optional) {
      throw new Error(
        `envFrom: ${source.configMapRef ? `configMap '${source.configMapRef.name}'` : `secret '${source.secretRef?.name}'`} not found`,
      );
    }
    for (const [k, v] of Object.entries(entries ?? {})) env[`${prefix}${k}`] = rewritePaths(v, mapping);
  }
  for (const entry of container.env ?? []) {
    let value: string | undefined;
    const from = entry.valueFrom;
    if (!from) value = expandVarRefs(entry.value ?? '', env);
    else if (from.fieldRef) value = resolveFieldRef(pod, from.fieldRef.fieldPath, runtime);
    else if (from.secretKeyRef)
      value = lookup(
        'secret',
        data.secrets,
        from.secretKeyRef.name ?? '',
        from.secretKeyRef.key,
        from.secretKeyRef.optional,
      );
    else if (from.configMapKeyRef) {
      value = lookup(
        'configMap',
        data.configMaps,
        from.configMapKeyRef.name ?? '',
        from.configMapKeyRef.key,
        from.configMapKeyRef.optional,
      );
    } else if (from.resourceFieldRef) {
      const [kind, resource] = from.resourceFieldRef.resource.split('.') as ['limits' | 'requests', string];
      value = String(container.resources?.[kind]?.[resource] ?? '');
    } else throw new Error(`env[${entry.name}].valueFrom: no supported source`);
    if (value !== undefined) env[entry.name] = rewritePaths(value, mapping);
  }
  return env;
}

/** The argv (command + args, `$(VAR)`-expanded, paths rewritten) a container runs. */
export function resolveContainerArgv(
  container: V1Container,
  env: Readonly<Record<string, string>>,
  mapping: PathMapping,
  entrypoint: string[] = [],
): string[] {
  const command = container.command && container.command.length > 0 ? container.command : entrypoint;
  const argv = [...command, ...(container.args ?? [])].map((a) =>
    rewritePaths(expandVarRefs(a, env), mapping),
  );
  if (argv.length === 0)
    throw new Error(
      `container '${container.name}': no command and no entrypoint known for image '${container.image}'`,
    );
  return argv;
}
