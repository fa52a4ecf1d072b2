/**
 * Local stand-ins for a pod's volumes. Each volume becomes a directory under the harness root:
 * per pod for emptyDir/configMap/secret/projected/downwardAPI, shared per claim (persistentVolumeClaim) or
 * per path (hostPath, re-rooted under the harness, never the real host path) so pods of one job see the
 * same files. The result is the container's path mapping (mountPath -> local dir).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { V1Container, V1Pod, V1Volume } from '@kubernetes/client-node';
import { resolveFieldRef, type PathMapping, type RuntimeFields } from './pod-env.ts';

/** Where volume contents come from (the API, in the node harness). */

/** The repository checkout and the running node's directory: never rewritten in a pod's env or args. */
export const PRESERVED_HOST_PATHS: readonly string[] = Object.freeze([
  fileURLToPath(new URL('../..', import.meta.url)).replace(/\/+$/, ''),
  path.dirname(process.execPath),
]);

export interface VolumeSources {
  configMap(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  secret(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  /** A bound service-account token (TokenRequest API). */
  serviceAccountToken(
    namespace: string,
    serviceAccount: string,
    audience: string | undefined,
    expirationSeconds: number,
    pod: V1Pod,
  ): Promise<string>;
}

/** Directories the volumes live in. */
export interface VolumeRoots {
  podDir: string;
  sharedDir: string;
}

type KeyToPath = { key: string; path: string };

async function writeItems(
  dir: string,
  data: Record<string, string>,
  items: KeyToPath[] | undefined,
  what: string,
): Promise<void> {
  const selected = items && items.length > 0 ? items : Object.keys(data).map((key) => ({ key, path: key }));
  for (const item of selected) {
    const value = data[item.key];
    if (value === undefined) throw new Error(`${what}: key '${item.key}' not found`);
    const file = path.join(dir, item.path);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, value, { mode: 0o644 });
  }
}

async function required(
  value: Promise<Record<string, string> | undefined>,
  optional: boolean | undefined,
  what: string,
): Promise<Record<string, string>> {
  const data = await value;
  if (data === undefined && !optional) throw new Error(`${what} not found`);
  return data ?? {};
}

/** A configMap or secret source, as a volume or as a projected volume's source names it. */
interface KeyedSource {
  kind: 'configMap' | 'secret';
  name: string;
  optional?: boolean;
  items?: KeyToPath[];
}

/** Writes the keys of a configMap or secret (all, or the listed items) into `dir`. */
async function writeKeyed(
  dir: string,
  ns: string,
  volumeName: string,
  sources: VolumeSources,
  s: KeyedSource,
): Promise<void> {
  const fetch = s.kind === 'configMap' ? sources.configMap(ns, s.name) : sources.secret(ns, s.name);
  const data = await required(fetch, s.optional, `volume '${volumeName}': ${s.kind} '${s.name}'`);
  await writeItems(dir, data, s.items, `volume '${volumeName}' ${s.kind} '${s.name}'`);
}

/** Writes downwardAPI items (fieldRef only) into `dir`. */
async function writeDownward(
  dir: string,
  items: { path: string; fieldRef?: { fieldPath: string } }[] | undefined,
  volumeName: string,
  pod: V1Pod,
  runtime: RuntimeFields,
): Promise<void> {
  for (const item of items ?? []) {
    if (item.fieldRef)
      await writeItems(
        dir,
        { v: resolveFieldRef(pod, item.fieldRef.fieldPath, runtime) },
        [{ key: 'v', path: item.path }],
        `volume '${volumeName}'`,
      );
  }
}

/** Materializes one volume and returns its local directory. */
async function materializeVolume(
  pod: V1Pod,
  volume: V1Volume,
  roots: VolumeRoots,
  sources: VolumeSources,
  runtime: RuntimeFields,
): Promise<string> {
  const ns = pod.metadata?.namespace ?? 'default';
  if (volume.persistentVolumeClaim) {
    const dir = path.join(roots.sharedDir, 'pvc', ns, volume.persistentVolumeClaim.claimName);
    await mkdir(dir, { recursive: true });
    return dir;
  }
  if (volume.hostPath) {
    const dir = path.join(roots.sharedDir, 'hostpath', volume.hostPath.path);
    await mkdir(
      volume.hostPath.type === 'File' || volume.hostPath.type === 'FileOrCreate' ? path.dirname(dir) : dir,
      { recursive: true },
    );
    return dir;
  }
  const dir = path.join(roots.podDir, 'volumes', volume.name);
  await mkdir(dir, { recursive: true });
  if (volume.emptyDir) return dir;
  const v = volume.name;
  if (volume.configMap) {
    const { name = '', optional, items } = volume.configMap;
    await writeKeyed(dir, ns, v, sources, { kind: 'configMap', name, optional, items });
    return dir;
  }
  if (volume.secret) {
    const { secretName: name = '', optional, items } = volume.secret;
    await writeKeyed(dir, ns, v, sources, { kind: 'secret', name, optional, items });
    return dir;
  }
  if (volume.downwardAPI) {
    await writeDownward(dir, volume.downwardAPI.items, v, pod, runtime);
    return dir;
  }
  if (volume.projected) {
    for (const source of volume.projected.sources ?? []) {
      if (source.serviceAccountToken) {
        const sa = pod.spec?.serviceAccountName ?? 'default';
        const token = await sources.serviceAccountToken(
          ns,
          sa,
          source.serviceAccountToken.audience,
          source.serviceAccountToken.expirationSeconds ?? 3607,
          pod,
        );
        await writeItems(
          dir,
          { token },
          [{ key: 'token', path: source.serviceAccountToken.path }],
          `volume '${v}'`,
        );
      } else if (source.configMap) {
        const { name = '', optional, items } = source.configMap;
        await writeKeyed(dir, ns, v, sources, { kind: 'configMap', name, optional, items });
      } else if (source.secret) {
        const { name = '', optional, items } = source.secret;
        await writeKeyed(dir, ns, v, sources, { kind: 'secret', name, optional, items });
      } else if (source.downwardAPI) {
        await writeDownward(dir, source.downwardAPI.items, v, pod, runtime);
      }
    }
    return dir;
  }
  throw new Error(
    `volume '${volume.name}': type not supported by the node harness (supported: emptyDir, configMap, secret, projected, downwardAPI, persistentVolumeClaim, hostPath)`,
  );
}

/** Materializes all pod volumes; returns volume name -> local directory. */
export async function materializeVolumes(
  pod: V1Pod,
  roots: VolumeRoots,
  sources: VolumeSources,
  runtime: RuntimeFields,
): Promise<Map<string, string>> {
  const dirs = new Map<string, string>();
  for (const volume of pod.spec?.volumes ?? [])
    dirs.set(volume.name, await materializeVolume(pod, volume, roots, sources, runtime));
  return dirs;
}

/** The container's path mapping: each volumeMount (with subPath) and the termination message file. */
export function buildPathMapping(
  container: V1Container,
  volumeDirs: ReadonlyMap<string, string>,
  terminationLogFile: string,
  preservedHostPaths: readonly string[] = PRESERVED_HOST_PATHS,
): PathMapping {
  // Host paths that pod commands name directly (the checkout whose bin/jcl.js a pod runs, the node
  // binary) map to themselves: as longer matches they win over a mount such as /tmp when the checkout
  // itself lives under /tmp, as a CI clone may.
  const mapping: { containerPath: string; localPath: string }[] = preservedHostPaths.map((p) => ({
    containerPath: p,
    localPath: p,
  }));
  for (const mount of container.volumeMounts ?? []) {
    const dir = volumeDirs.get(mount.name);
    if (dir === undefined)
      throw new Error(`container '${container.name}' volumeMounts.name: no volume named '${mount.name}'`);
    mapping.push({
      containerPath: mount.mountPath.replace(/\/+$/, '') || '/',
      localPath: mount.subPath ? path.join(dir, mount.subPath) : dir,
    });
  }
  mapping.push({
    containerPath: container.terminationMessagePath ?? '/dev/termination-log',
    localPath: terminationLogFile,
  });
  return mapping;
}
