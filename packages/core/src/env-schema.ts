import { z } from 'zod';
import { formatIssues, zodIssues } from './format-zod-error.ts';
import { parseByteSize } from './parse-byte-size.ts';

const commaList = z
  .string()
  .optional()
  .transform((s) =>
    (s ?? '')
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean),
  );

/** An optional variable that compose files pass as `${X:-}`: empty means unset. */
const unlessEmpty = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

/** Where the local Redis listens when REDIS_URL is unset. */
export const DEFAULT_REDIS_PORT = 6379;

/** Environment variables orchex reads, as written (provider keys and base URLs are parsed by each adapter's schema). */
export const envVariablesSchema = z
  .object({
    /** Unset → redis://127.0.0.1:ORCHEX_REDIS_PORT, a Redis that `npm start` starts itself when none answers there. */
    REDIS_URL: z
      .string()
      // z.url() alone takes "localhost:6379" (scheme "localhost:"), which ioredis would not read as meant.
      .regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL')
      .optional(),
    /**
     * "1" → Redis Cluster through ioredis' Cluster client: REDIS_URL (or ORCHEX_REDIS_NODES) names seed nodes, the
     * client discovers the rest. Default off (one Redis server).
     */
    ORCHEX_REDIS_CLUSTER: z
      .enum(['0', '1', 'true', 'false', ''], 'must be 1, 0, true or false')
      .optional()
      .transform((v) => v === '1' || v === 'true'),
    /** Comma-separated seed nodes of the cluster (host:port or redis:// URLs); unset → REDIS_URL alone. */
    ORCHEX_REDIS_NODES: commaList.refine(
      (nodes) => nodes.every((n) => /^(rediss?:\/\/)?[^\s/:]+:\d{1,5}\/?$/.test(n)),
      'each node must be host:port or redis://host:port',
    ),
    /**
     * Replicas every budget write waits for (Redis WAIT, up to 250 ms), so a failover cannot lose a hold or a settled
     * cost. Set it to 1 on a Redis (Cluster) with replicas; 0 (default) waits for none.
     */
    ORCHEX_REDIS_REPLICA_ACKS: z.coerce.number().int().min(0).max(5).default(0),
    /** How often a worker looks for orphaned tasks (ms); one worker at a time runs it. Default 30000. */
    ORCHEX_SWEEP_INTERVAL_MS: z.coerce.number().int().min(500, 'at least 500').optional(),
    /** Port of the local Redis when REDIS_URL is unset. Default 6379. */
    ORCHEX_REDIS_PORT: z.coerce.number().int().min(1).max(65535).default(DEFAULT_REDIS_PORT),
    /** Where the Redis that `npm start` starts keeps its AOF and log. Default .orchex/redis. */
    ORCHEX_REDIS_DIR: z.string().optional(),
    /** The redis-server binary `npm start` runs. Default: redis-server on PATH, else one built by redis-memory-server. */
    ORCHEX_REDIS_SERVER: z.string().optional(),
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
    /**
     * Secret that stored API key ids are derived with (HMAC); ≥ 32 characters. Unset → one is generated on first start
     * and kept in Postgres. Changing it changes every key id: existing tasks would no longer be visible to their key.
     */
    ORCHEX_KEY_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    /** Admin key for Bull Board, the dashboard and budget changes; unset → those are disabled. */
    ORCHEX_ADMIN_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
    /**
     * Bearer token for GET /metrics on the API and on each worker's --metrics-port listener (the admin key works too);
     * ≥ 16 characters. Unset (and no admin key) → metrics are disabled.
     */
    ORCHEX_METRICS_TOKEN: unlessEmpty(z.string().min(16, 'must be at least 16 characters')),
    /** API port. Default 3000. */
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    /** Redis key prefix. Default "orchex". */
    ORCHEX_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, "_" and "-" only')
      .default('orchex'),
    /** Largest request body. Default "12mb" (a 10M-character context fits). */
    ORCHEX_BODY_LIMIT: z
      .string()
      .refine((v) => parseByteSize(v) > 0, 'must be a size such as 12mb or 512kb')
      .default('12mb'),
    /** "1" logs the routing decision of every task. */
    ORCHESTRATOR_DEBUG_ROUTING: z
      .enum(['0', '1', 'true', 'false', ''], 'must be 1, 0, true or false')
      .optional()
      .transform((v) => v === '1' || v === 'true'),
    /** POSTed JSON once a day when spend crosses cost_limits.alert_threshold. */
    ORCHEX_ALERT_WEBHOOK: z.string().url('must be an http(s) URL').optional(),
    /** Worker job lock (ms): a dead worker's jobs are re-delivered after about this long. Default 30000. */
    ORCHEX_LOCK_MS: z.coerce.number().int().min(1000, 'at least 1000').optional(),
    /** Length of the rpm/tpm sliding window (ms). Only tests and benchmarks change it. Default 60000. */
    ORCHEX_LIMIT_WINDOW_MS: z.coerce.number().int().min(100, 'at least 100').optional(),
    /** Base of same-model retry backoff (ms). Default 1000. */
    ORCHEX_BACKOFF_BASE_MS: z.coerce.number().int().min(1, 'at least 1').optional(),
    /**
     * Days a finished task keeps its prompt, context, answer and attempt rows; a worker then empties it in batches
     * (cost rollups, status, model, usage and cost stay). Unset → kept forever.
     */
    ORCHEX_RETENTION_DAYS: z.coerce.number().int().min(1, 'at least 1').optional(),
    /**
     * OpenTelemetry's OTLP/HTTP endpoint (e.g. http://collector:4318): set, the API and workers export traces there
     * (spans to <endpoint>/v1/traces); unset, tracing is off.
     */
    OTEL_EXPORTER_OTLP_ENDPOINT: unlessEmpty(z.string().url('must be an http(s) URL such as http://collector:4318')),
    /** service.name of the traces. Default orchex-api / orchex-worker. */
    OTEL_SERVICE_NAME: unlessEmpty(z.string()),
    /** pino level. Default info. */
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  // Seed nodes without the switch are most likely a forgotten ORCHEX_REDIS_CLUSTER=1: say so rather than ignore them.
  .refine((v) => v.ORCHEX_REDIS_CLUSTER || v.ORCHEX_REDIS_NODES.length === 0, {
    path: ['ORCHEX_REDIS_NODES'],
    message: 'is only read with ORCHEX_REDIS_CLUSTER=1',
  })
  // A cluster is never started locally (npm start's own Redis is one server): it needs a seed with its credentials.
  .refine((v) => !v.ORCHEX_REDIS_CLUSTER || v.REDIS_URL !== undefined, {
    path: ['REDIS_URL'],
    message: 'must name a seed node of the cluster when ORCHEX_REDIS_CLUSTER=1',
  });

/**
 * The environment as the processes use it, grouped by who reads it. Parsed ONCE per process (parseEnv) at start;
 * nothing else reads orchex variables from process.env.
 */
export const envSchema = envVariablesSchema.transform((v) => ({
  redisUrl: v.REDIS_URL ?? `redis://127.0.0.1:${v.ORCHEX_REDIS_PORT}`,
  /**
   * Set when ORCHEX_REDIS_CLUSTER is on: the seed nodes (ORCHEX_REDIS_NODES, else REDIS_URL). Credentials and TLS
   * come from REDIS_URL.
   */
  redisCluster: v.ORCHEX_REDIS_CLUSTER
    ? {
        nodes:
          v.ORCHEX_REDIS_NODES.length > 0
            ? v.ORCHEX_REDIS_NODES
            : [v.REDIS_URL ?? `redis://127.0.0.1:${v.ORCHEX_REDIS_PORT}`],
      }
    : undefined,
  /** Budget writes wait for this many replicas (0 = none). */
  redisReplicaAcks: v.ORCHEX_REDIS_REPLICA_ACKS,
  /**
   * Set when REDIS_URL is not: `npm start` then uses the Redis answering on 127.0.0.1:port or starts its own there
   * (dir default .orchex/redis). start:api and start:worker only connect to redisUrl.
   */
  embeddedRedis: v.REDIS_URL
    ? undefined
    : {
        port: v.ORCHEX_REDIS_PORT,
        dir: v.ORCHEX_REDIS_DIR?.trim() || undefined,
        serverPath: v.ORCHEX_REDIS_SERVER?.trim() || undefined,
      },
  /** Redis key prefix of every queue, lock and counter. */
  prefix: v.ORCHEX_PREFIX,
  /** url unset → embedded PGlite in dataDir (default .orchex/pglite). */
  database: { url: v.DATABASE_URL?.trim() || undefined, dataDir: v.ORCHEX_DATA_DIR?.trim() || undefined },
  /** ORCHEX_CONFIG; unset → the built-in default config. */
  configPath: v.ORCHEX_CONFIG?.trim() || undefined,
  logLevel: v.LOG_LEVEL,
  /** Where traces go (unset endpoint: tracing off) and the service name they carry. */
  tracing: { endpoint: v.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: v.OTEL_SERVICE_NAME },
  /** ORCHEX_METRICS_TOKEN: what GET /metrics accepts besides the admin key, on the API and on workers. */
  metricsToken: v.ORCHEX_METRICS_TOKEN,
  api: {
    port: v.PORT,
    apiKeys: v.ORCHEX_API_KEYS,
    adminKey: v.ORCHEX_ADMIN_KEY,
    keySecret: v.ORCHEX_KEY_SECRET,
    bodyLimit: v.ORCHEX_BODY_LIMIT,
    debugRouting: v.ORCHESTRATOR_DEBUG_ROUTING,
  },
  worker: {
    lockDurationMs: v.ORCHEX_LOCK_MS,
    limitWindowMs: v.ORCHEX_LIMIT_WINDOW_MS,
    backoffBaseMs: v.ORCHEX_BACKOFF_BASE_MS,
    sweepEveryMs: v.ORCHEX_SWEEP_INTERVAL_MS,
    retentionDays: v.ORCHEX_RETENTION_DAYS,
    alertWebhook: v.ORCHEX_ALERT_WEBHOOK,
  },
}));

/** The parsed environment (see envSchema). */
export type OrchexEnv = z.output<typeof envSchema>;

/** Parses the environment; the error names each bad variable. */
export function parseEnv(env: NodeJS.ProcessEnv = process.env): OrchexEnv {
  const r = envSchema.safeParse(env);
  if (!r.success) throw new Error(`environment: ${formatIssues(zodIssues(r.error))}`);
  return r.data;
}
