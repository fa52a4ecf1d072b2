/**
 * The logging surface the distributed runtime needs: the subset of pino's API it calls, so callers can pass
 * a pino logger, a child logger, or a test double.
 */
export interface DistLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug?(obj: object, msg?: string): void;
}

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: DistLogger = { info() {}, warn() {}, error() {} };
