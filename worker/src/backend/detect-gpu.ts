/**
 * Whether a CUDA GPU is visible to this process, decided from facts passed in (environment and the
 * presence of NVIDIA device files), so the decision is pure and table-testable.
 */

/** What the caller observed; `fileExists` is only asked about fixed NVIDIA paths. */
export interface GpuProbe {
  env: Readonly<Record<string, string | undefined>>;
  fileExists: (path: string) => boolean;
}

/** The decision and the reason, for the start-up log. */
export interface GpuVisibility {
  visible: boolean;
  reason: string;
}

const HIDDEN = new Set(['', '-1', 'none', 'void', 'NoDevFiles']);

/**
 * 1. CUDA_VISIBLE_DEVICES / NVIDIA_VISIBLE_DEVICES set to an empty or "none" value hide every GPU.
 * 2. Otherwise a GPU is visible when the NVIDIA driver exposes /dev/nvidia0 (the device plugin mounts
 *    it into GPU pods) or /proc/driver/nvidia/version.
 */
export function detectGpu(probe: GpuProbe): GpuVisibility {
  for (const name of ['CUDA_VISIBLE_DEVICES', 'NVIDIA_VISIBLE_DEVICES']) {
    const value = probe.env[name];
    if (value !== undefined && HIDDEN.has(value.trim())) {
      return { visible: false, reason: `${name}=${JSON.stringify(value)} hides all GPUs` };
    }
  }
  for (const path of ['/dev/nvidia0', '/proc/driver/nvidia/version']) {
    if (probe.fileExists(path)) return { visible: true, reason: `${path} exists` };
  }
  return { visible: false, reason: 'no /dev/nvidia0 or /proc/driver/nvidia/version' };
}
