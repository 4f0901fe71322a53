import { pino } from 'pino';
import { logContext } from './log-context.ts';
import type { Logger } from './logger.ts';

/**
 * JSON lines on stdout. Secrets are redacted by path as a second line of defence; the first is that nothing
 * secret (keys, prompts) is ever passed to a log call. Every line carries the ids of the request or task it was
 * written for (requestId, taskId, traceId: see withLogContext).
 */
export function createLogger(name: string, level = 'info'): Logger {
  return pino({
    name,
    level,
    mixin: () => logContext(),
    redact: {
      paths: ['*.authorization', '*.apiKey', '*.api_key', 'headers.authorization', '*.prompt', '*.context'],
      censor: '[redacted]',
    },
  });
}
