/**
 * `jcl train --workers N` on a terminal, shown as one process (issue 19): rank 0's progress events drive
 * the same progress bar as a single-process run, rank 0's logs read as the single process's would, and
 * the other ranks speak only for warnings and errors (prefixed with their rank). Lines that are not JSON
 * pass through with their rank, so nothing a worker prints is lost.
 */
import { prettyFactory } from 'pino-pretty';
import type { ProgressEvent } from '../train/trainer.ts';

/** The stdout line type rank 0 writes for each step when JCL_PROGRESS=json (cmd-worker.ts). */
export const PROGRESS_LINE_TYPE = 'jcl-progress';

/** pino's numeric levels: 40 = warn. */
const WARN = 40;

export interface GangOutput {
  onLine(rank: number, line: string, stream: 'stdout' | 'stderr'): void;
  /** Ends the progress bar line (call once the gang has exited). */
  done(): void;
}

export function createGangOutput(o: {
  bar: { update(p: ProgressEvent): void; done(): void } | null;
  /** Where log lines go (the terminal's stderr). */
  write: (text: string) => void;
}): GangOutput {
  const pretty = prettyFactory({
    ignore: 'pid,hostname,name,rank',
    translateTime: 'HH:MM:ss',
    singleLine: true,
    colorize: false,
  });
  let barShown = false;
  const print = (text: string) => {
    // Clear the bar's line first; the next progress event redraws it below the message.
    o.write((barShown ? '\r\x1b[K' : '') + text + (text.endsWith('\n') ? '' : '\n'));
  };
  return {
    onLine(rank, line) {
      let obj: Record<string, unknown> | null = null;
      try {
        const parsed: unknown = JSON.parse(line);
        if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed))
          obj = parsed as Record<string, unknown>;
      } catch {
        /* not JSON: passed through below */
      }
      if (obj === null) return print(`[rank ${rank}] ${line}`);
      if (obj.type === PROGRESS_LINE_TYPE) {
        if (rank === 0 && o.bar) {
          o.bar.update(obj as unknown as ProgressEvent);
          barShown = true;
        }
        return;
      }
      const level = typeof obj.level === 'number' ? obj.level : WARN;
      if (rank === 0) return print(pretty(obj));
      if (level >= WARN) print(`[rank ${rank}] ${pretty(obj)}`);
    },
    done() {
      if (barShown) o.bar?.done();
    },
  };
}
