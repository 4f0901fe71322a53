import { type DestinationStream, pino } from 'pino';
import { logContext } from './log-context.ts';
import type { Logger } from './logger.ts';

/** Field names whose values never reach a log line, at the top of a line's object or one level down. */
const SECRET_FIELDS: ReadonlySet<string> = new Set(['authorization', 'apiKey', 'api_key', 'prompt', 'context']);
const CENSOR = '[redacted]';

/**
 * A log line's object with every secret-named field censored — at the top level and inside each object-valued field
 * (e.g. `headers.authorization`). Allocates only when it censors something: pino's path redaction parsed its paths
 * again for every line (~16 KB of garbage per line, a tenth of what a worker allocates per task).
 */
export function censorSecrets(line: Record<string, unknown>): Record<string, unknown> {
  let out = line;
  const censored = () => {
    if (out === line) out = { ...line };
    return out;
  };
  for (const key of Object.keys(line)) {
    const value = line[key];
    if (SECRET_FIELDS.has(key)) {
      censored()[key] = CENSOR;
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Error) continue;
    let inner: Record<string, unknown> | undefined;
    for (const field of SECRET_FIELDS) {
      if (Object.hasOwn(value, field)) {
        inner ??= { ...(value as Record<string, unknown>) };
        inner[field] = CENSOR;
      }
    }
    if (inner) censored()[key] = inner;
  }
  return out;
}

/**
 * JSON lines on stdout (or `destination`). Secrets are censored by name as a second line of defence; the first is
 * that nothing secret (keys, prompts) is ever passed to a log call. Every line carries the ids of the request or task
 * it was written for: the API's through withLogContext, a worker step's through its logger (withFields).
 */
export function createLogger(name: string, level = 'info', destination?: DestinationStream): Logger {
  const options = { name, level, mixin: () => logContext(), formatters: { log: censorSecrets } };
  return destination ? pino(options, destination) : pino(options);
}
