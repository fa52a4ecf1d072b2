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
  if (volume.configMap) {
    const name = volume.configMap.name ?? '';
    const data = await required(
      sources.configMap(ns, name),
      volume.configMap.optional,
      `volume '${volume.name}': configMap '${name}'`,
    );
    await writeItems(dir, data, volume.configMap.items, `volume '${volume.name}' configMap '${name}'`);
    return dir;
  }
  if (volume.secret) {
    const name = volume.secret.secretName ?? '';
    const data = await required(
      sources.secret(ns, name),
      volume.secret.optional,
      `volume '${volume.name}': secret '${name}'`,
    );
    await writeItems(dir, data, volume.secret.items, `volume '${volume.name}' secret '${name}'`);
    return dir;
  }
  if (volume.downwardAPI) {
    for (const item of volume.downwardAPI.items ?? []) {
      if (item.fieldRef)
        await writeItems(
          dir,
          { v: resolveFieldRef(pod, item.fieldRef.fieldPath, runtime) },
          [{ key: 'v', path: item.path }],
          `volume '${volume.name}'`,
        );
    }
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
          `volume '${volume.name}'`,
        );
      } else if (source.configMap) {
        const name = source.configMap.name ?? '';
        const data = await required(
          sources.configMap(ns, name),
          source.configMap.optional,
          `volume '${volume.name}': configMap '${name}'`,
        );
        await writeItems(dir, data, source.configMap.items, `volume '${volume.name}' configMap '${name}'`);
      } else if (source.secret) {
        const name = source.secret.name ?? '';
        const data = await required(
          sources.secret(ns, name),
          source.secret.optional,
          `volume '${volume.name}': secret '${name}'`,
        );
        await writeItems(dir, data, source.secret.items, `volume '${volume.name}' secret '${name}'`);
      } else if (source.downwardAPI) {
        for (const item of source.downwardAPI.items ?? []) {
          if (item.fieldRef)
            await writeItems(
              dir,
              { v: resolveFieldRef(pod, item.fieldRef.fieldPath, runtime) },
              [{ key: 'v', path: item.path }],
              `volume '${volume.name}'`,
            );
        }
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
