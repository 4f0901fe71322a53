import { pino } from 'pino';
import type { Logger } from './logger.ts';

/**
 * JSON lines on stdout. Secrets are redacted by path as a second line of defence; the first is that nothing
 * secret (keys, prompts) is ever passed to a log call.
 */
export function createLogger(name: string, level = 'info'): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: ['*.authorization', '*.apiKey', '*.api_key', 'headers.authorization', '*.prompt', '*.context'],
      censor: '[redacted]',
    },
  });
}
