/**
 * The pod's termination message: one line of JSON the operator reads from the container status
 * (Kubernetes keeps at most 4096 bytes of /dev/termination-log).
 */
import { writeFileSync } from 'node:fs';

export function terminationLogPath(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return env.JCL_TERMINATION_LOG ?? '/dev/termination-log';
}

/** Best effort: outside Kubernetes there is usually nothing to write to. */
export function writeTerminationMessage(line: string, path = terminationLogPath()): void {
  try {
    writeFileSync(path, line.slice(0, 4000));
  } catch {
    /* not on Kubernetes */
  }
}
