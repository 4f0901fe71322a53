/** The logging surface packages use; pino's Logger satisfies it. Objects first, message second. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** A Logger that drops everything, for tests and library use. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * A Logger whose every line also carries `fields` (a line's own fields win). The worker gives each job's step one,
 * with the task's, job's and request's ids, instead of an AsyncLocalStorage context: with one enabled, every promise
 * in the process pays its hooks — ~3% of a worker's CPU and ~17 KB of garbage per task (docs/performance.md).
 */
export function withFields(logger: Logger, fields: Record<string, unknown>): Logger {
  const add = (obj: object) => ({ ...fields, ...obj });
  return {
    debug: (obj, msg) => logger.debug(add(obj), msg),
    info: (obj, msg) => logger.info(add(obj), msg),
    warn: (obj, msg) => logger.warn(add(obj), msg),
    error: (obj, msg) => logger.error(add(obj), msg),
  };
}
