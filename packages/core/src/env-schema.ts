import { z } from 'zod';
import { formatIssues, zodIssues } from './format-zod-error.ts';

const commaList = z
  .string()
  .optional()
  .transform((s) =>
    (s ?? '')
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean),
  );

/** Environment variables orchex reads, parsed once at start (provider keys are read by the adapters). */
export const envSchema = z.object({
  /** Default redis://127.0.0.1:6379. */
  REDIS_URL: z.string().url('must be a redis:// or rediss:// URL').default('redis://127.0.0.1:6379'),
  /** Unset → embedded PGlite under ORCHEX_DATA_DIR. */
  DATABASE_URL: z.string().url('must be a postgres:// URL').optional(),
  /** Where PGlite keeps its files. Default .orchex/pglite. */
  ORCHEX_DATA_DIR: z.string().optional(),
  /** Path of atlas_config-style YAML; unset → built-in default. */
  ORCHEX_CONFIG: z.string().optional(),
  /** Comma-separated client API keys; every /v1 route needs one of them. */
  ORCHEX_API_KEYS: commaList.refine(
    (keys) => keys.every((k) => k.length >= 16),
    'each key must be at least 16 characters',
  ),
  /** Admin key for Bull Board, the dashboard and budget changes; unset → those are disabled. */
  ORCHEX_ADMIN_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  /** API port. Default 3000. */
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** Redis key prefix. Default "orchex". */
  ORCHEX_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, "_" and "-" only')
    .default('orchex'),
  /** Largest request body. Default "12mb" (a 10M-character context fits). */
  ORCHEX_BODY_LIMIT: z.string().default('12mb'),
  /** "1" logs the routing decision of every task. */
  ORCHESTRATOR_DEBUG_ROUTING: z.enum(['0', '1', 'true', 'false', '']).optional(),
  /** POSTed JSON once a day when spend crosses cost_limits.alert_threshold. */
  ORCHEX_ALERT_WEBHOOK: z.string().url('must be an http(s) URL').optional(),
  /** Worker job lock (ms): a dead worker's jobs are re-delivered after about this long. Default 30000. */
  ORCHEX_LOCK_MS: z.coerce.number().int().min(1000, 'at least 1000').optional(),
  /** Length of the rpm/tpm sliding window (ms). Only tests and benchmarks change it. Default 60000. */
  ORCHEX_LIMIT_WINDOW_MS: z.coerce.number().int().min(100, 'at least 100').optional(),
  /** Base of same-model retry backoff (ms). Default 1000. */
  ORCHEX_BACKOFF_BASE_MS: z.coerce.number().int().min(1, 'at least 1').optional(),
  /** pino level. Default info. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type OrchexEnv = z.output<typeof envSchema>;

/** Parses the environment; the error names each bad variable. */
export function parseEnv(env: NodeJS.ProcessEnv = process.env): OrchexEnv {
  const r = envSchema.safeParse(env);
  if (!r.success) throw new Error(`environment: ${formatIssues(zodIssues(r.error))}`);
  return r.data;
}
