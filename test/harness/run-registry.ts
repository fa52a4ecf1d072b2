/**
 * Bookkeeping that guarantees no harness process outlives its owner. Every process the harness starts is a
 * process-group leader; its group id is recorded (a) in memory, killed synchronously on `exit` and on
 * SIGINT/SIGTERM/SIGHUP, and (b) in a pid file under `<cache>/run/`, so the next start kills groups left
 * behind by an owner that died without running its handlers (SIGKILL, OOM, a crashed CI runner).
 */
import { readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** One recorded process group. `marker` must appear in its command line or environment to be killed later. */
export interface RecordedGroup {
  pgid: number;
  name: string;
  marker: string;
}

/** Contents of a pid file. */
export interface RunRecord {
  ownerPid: number;
  /** Kept by `scripts/controlplane.ts up`: the owner exits on purpose and `down` cleans up. */
  persistent: boolean;
  /** Directory removed together with the groups (the plane's or node harness's temp root). */
  rootDir?: string;
  groups: RecordedGroup[];
}

/** The cache directory shared with scripts/controlplane-build.sh. */
export function resolveCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.JCL_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'jcl-operator');
}

/** Directory holding pid files. */
export function runDir(cacheDir: string = resolveCacheDir()): string {
  return path.join(cacheDir, 'run');
}

const liveGroups = new Map<number, RecordedGroup>();
const liveRecords = new Set<RunRecordFile>();
let hooksInstalled = false;

/** Synchronous last-resort cleanup: every live group is killed, every live record's files removed. */
function killEverythingSync(): void {
  for (const pgid of liveGroups.keys()) killGroupSync(pgid, 'SIGKILL');
  liveGroups.clear();
  for (const record of liveRecords) record.discardSync();
}

function killGroupSync(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

/** Kills recorded groups on exit, on SIGINT/SIGTERM/SIGHUP and, in a forked worker, when the parent goes away. Idempotent. */
export function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killEverythingSync);
  // A forked test worker (vitest pool 'forks') whose parent died is orphaned, not signalled: when the IPC
  // channel closes, take our groups down and leave instead of polling a dead apiserver forever.
  if (typeof process.send === 'function') {
    process.once('disconnect', () => {
      killEverythingSync();
      process.exit(1);
    });
  }
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = (): void => {
      killEverythingSync();
      process.removeListener(signal, handler);
      // Let other listeners (vitest's) run; with none left, re-raising gives the default exit status.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, handler);
  }
}

/** A pid file owned by this process; groups are added as they are started and dropped as they stop. */
export class RunRecordFile {
  readonly file: string;
  private readonly record: RunRecord;

  constructor(cacheDir: string, id: string, opts: { persistent?: boolean; rootDir?: string } = {}) {
    mkdirSync(runDir(cacheDir), { recursive: true });
    this.file = path.join(runDir(cacheDir), `${id}.json`);
    this.record = {
      ownerPid: process.pid,
      persistent: opts.persistent ?? false,
      rootDir: opts.rootDir,
      groups: [],
    };
    if (!this.record.persistent) {
      installExitHooks();
      liveRecords.add(this);
    }
    this.flush();
  }

  /** Records a started process group. */
  add(group: RecordedGroup): void {
    this.record.groups.push(group);
    if (!this.record.persistent) liveGroups.set(group.pgid, group);
    this.flush();
  }

  /** Forgets a process group that has exited. */
  remove(pgid: number): void {
    this.record.groups = this.record.groups.filter((g) => g.pgid !== pgid);
    liveGroups.delete(pgid);
    this.flush();
  }

  /** Deletes the pid file (after every group stopped). */
  close(): void {
    for (const g of this.record.groups) liveGroups.delete(g.pgid);
    liveRecords.delete(this);
    rmSync(this.file, { force: true });
  }

  /** Exit-time cleanup (groups already killed): removes the root dir and the pid file. */
  discardSync(): void {
    liveRecords.delete(this);
    try {
      if (this.record.rootDir) rmSync(this.record.rootDir, { recursive: true, force: true });
      rmSync(this.file, { force: true });
    } catch {
      // the next start's cleanStaleRuns() retries
    }
  }

  private flush(): void {
    writeFileSync(this.file, JSON.stringify(this.record, null, 2));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function groupMatches(group: RecordedGroup): boolean {
  // Guards against pid reuse: only kill a leader that still carries the marker we started it with.
  for (const file of ['cmdline', 'environ']) {
    try {
      if (readFileSync(`/proc/${group.pgid}/${file}`, 'latin1').includes(group.marker)) return true;
    } catch {
      return false;
    }
  }
  return false;
}

/** Kills the groups of one record and removes its root dir and pid file. */
export function destroyRecord(file: string, record: RunRecord): void {
  for (const group of record.groups) {
    if (groupMatches(group)) killGroupSync(group.pgid, 'SIGKILL');
  }
  if (record.rootDir && existsSync(record.rootDir)) rmSync(record.rootDir, { recursive: true, force: true });
  rmSync(file, { force: true });
}

/**
 * Kills what earlier, dead owners left behind. Persistent records (`controlplane.ts up`) are kept unless
 * `includePersistent` is set. Returns the names of the groups that were cleaned up.
 */
export function cleanStaleRuns(cacheDir: string = resolveCacheDir(), includePersistent = false): string[] {
  const dir = runDir(cacheDir);
  if (!existsSync(dir)) return [];
  const cleaned: string[] = [];
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.json')) continue;
    const file = path.join(dir, name);
    let record: RunRecord;
    try {
      record = JSON.parse(readFileSync(file, 'utf8')) as RunRecord;
    } catch {
      rmSync(file, { force: true });
      continue;
    }
    const stale = record.persistent ? includePersistent : !isAlive(record.ownerPid);
    if (!stale) continue;
    cleaned.push(...record.groups.map((g) => `${g.name} (pgid ${g.pgid})`));
    destroyRecord(file, record);
  }
  return cleaned;
}
