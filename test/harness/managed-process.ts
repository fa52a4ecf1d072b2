/**
 * A child process run as its own process-group leader with output captured to files: the unit the control
 * plane (etcd, apiserver, controller manager) and the node harness (pod containers) are built from.
 * Stopping signals the whole group, so grandchildren (a shell's children, a worker's helpers) die too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import type { RunRecordFile } from './run-registry.ts';

/** How a process ended. `signal` is set when it was killed by a signal. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Exit code the way a container runtime reports it: the code, or 128 + signal number. */
  exitCode: number;
  finishedAt: Date;
}

/** What to run. */
export interface ManagedProcessSpec {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  stdoutFile: string;
  /** Defaults to `stdoutFile` (one combined log). */
  stderrFile?: string;
  /** Records the group in a pid file for stale cleanup. */
  registry?: RunRecordFile;
  /** String present in the command line or environment, checked before a stale group is killed. */
  marker?: string;
  /** Do not keep the parent's event loop alive (for `controlplane.ts up`). */
  detachFromParent?: boolean;
}

/** Returns the last `maxLines` lines (at most 64 KiB) of a log file, or a note when it cannot be read. */
export function tailFile(file: string, maxLines = 40): string {
  try {
    const size = statSync(file).size;
    const fd = openSync(file, 'r');
    try {
      const length = Math.min(size, 65_536);
      const buf = Buffer.alloc(length);
      readSync(fd, buf, 0, length, size - length);
      return buf
        .toString('utf8')
        .split('\n')
        .slice(-maxLines - 1)
        .join('\n')
        .trimEnd();
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    return `(no log at ${file}: ${(err as Error).message})`;
  }
}

function appendQuietly(file: string, text: string): void {
  try {
    appendFileSync(file, text);
  } catch {
    // best effort: the log file is only for debugging
  }
}

/** A running (or finished) process group. */
export class ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly startedAt = new Date();
  readonly exited: Promise<ExitInfo>;
  readonly stdoutFile: string;
  readonly stderrFile: string;
  exitInfo: ExitInfo | undefined;
  /** Set when the harness itself sent the signal, so callers can tell an injected kill from a crash. */
  killedByHarness = false;
  private readonly child: ChildProcess;
  private readonly registry: RunRecordFile | undefined;

  constructor(spec: ManagedProcessSpec) {
    this.name = spec.name;
    this.stdoutFile = spec.stdoutFile;
    this.stderrFile = spec.stderrFile ?? spec.stdoutFile;
    const out = openSync(this.stdoutFile, 'a');
    const err = this.stderrFile === this.stdoutFile ? out : openSync(this.stderrFile, 'a');
    try {
      this.child = spawn(spec.command, spec.args, {
        cwd: spec.cwd,
        env: spec.env,
        detached: true,
        stdio: ['ignore', out, err],
      });
    } finally {
      closeSync(out);
      if (err !== out) closeSync(err);
    }
    this.exited = new Promise<ExitInfo>((resolve) => {
      const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (this.exitInfo) return;
        const exitCode = code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
        this.exitInfo = { code, signal, exitCode, finishedAt: new Date() };
        this.registry?.remove(this.pid);
        resolve(this.exitInfo);
      };
      this.child.once('exit', finish);
      // spawn failures (ENOENT, EACCES) surface as 'error' without 'exit'; report them like a shell would.
      this.child.once('error', (e: NodeJS.ErrnoException) => {
        const code = e.code === 'ENOENT' ? 127 : 126;
        appendQuietly(this.stderrFile, `harness: cannot start ${spec.command}: ${e.message}\n`);
        finish(code, null);
      });
    });
    this.pid = this.child.pid ?? -1;
    this.registry = spec.registry;
    if (this.pid > 0)
      spec.registry?.add({ pgid: this.pid, name: spec.name, marker: spec.marker ?? spec.command });
    if (spec.detachFromParent) this.child.unref();
  }

  /** True until the process has exited. */
  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** Sends `signal` to the whole process group. */
  signal(signal: NodeJS.Signals): void {
    if (this.pid <= 0 || !this.running) return;
    this.killedByHarness = true;
    try {
      process.kill(-this.pid, signal);
    } catch {
      // ESRCH: the group is already gone.
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  async stop(graceMs = 5_000): Promise<ExitInfo> {
    if (!this.running) return this.exitInfo as ExitInfo;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
      // Grandchildren that ignored SIGTERM must not survive their leader.
      try {
        process.kill(-this.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  /** The last lines of the captured output. */
  tail(maxLines = 40): string {
    const out = tailFile(this.stdoutFile, maxLines);
    return this.stderrFile === this.stdoutFile
      ? out
      : `${out}\n--- stderr ---\n${tailFile(this.stderrFile, maxLines)}`;
  }

  /** Whole captured stdout (for small logs). */
  readStdout(): string {
    return readFileSync(this.stdoutFile, 'utf8');
  }
}
