/** pino loggers: JSON lines for machines, pretty lines when a person watches a terminal. */
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export function createLogger(
  opts: { level?: string; name?: string; pretty?: boolean; base?: Record<string, unknown> } = {},
): Logger {
  const level = opts.level ?? process.env.JCL_LOG_LEVEL ?? 'info';
  const usePretty = opts.pretty ?? (process.stderr.isTTY && process.env.JCL_LOG_FORMAT !== 'json');
  const base = { name: opts.name ?? 'jcl', ...opts.base };
  if (usePretty)
    return pino(
      { level, base },
      pretty({
        sync: true,
        destination: 2,
        ignore: 'pid,hostname,name',
        translateTime: 'HH:MM:ss',
        singleLine: true,
      }),
    );
  return pino({ level, base }, pino.destination({ dest: 1, sync: true }));
}
