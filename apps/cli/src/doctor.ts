import {
  isProviderName,
  loadConfig,
  type OrchexConfig,
  type OrchexEnv,
  type ProviderName,
  parseEnv,
  redactUrl,
} from '@orchex/core';
import { checkMigrationsCurrent, createDatabase, type DatabaseHandle, DEFAULT_PGLITE_DIR } from '@orchex/db';
import { createLanguageModels, loadPlugins } from '@orchex/providers';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import type { CliIo } from './cli-io.ts';
import { type CheckStatus, type DoctorCheck, printDoctorReport } from './doctor-report.ts';

export type { CheckStatus, DoctorCheck } from './doctor-report.ts';

/** Longest wait for one check (a host that drops packets would otherwise hang the doctor). Default 10 s. */
const CHECK_TIMEOUT_MS = 10_000;

/** The key each provider's adapter reads; null = needs none. Typed on ProviderName so a new provider must be added. */
const KEY_VARIABLE: Record<ProviderName, string | null> = {
  anthropic: 'ANTHROPIC_API_KEY',
  openai: 'OPENAI_API_KEY',
  google: 'GOOGLE_API_KEY',
  ollama: null,
};

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: no answer within ${CHECK_TIMEOUT_MS / 1000}s`)),
      CHECK_TIMEOUT_MS,
    );
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const message = (err: unknown) => {
  const e = err as { message?: string; code?: string; errors?: Array<{ message?: string }> };
  // node-postgres and ioredis surface "connect ECONNREFUSED" inside an AggregateError (IPv4 + IPv6) with no message.
  return e?.message || e?.errors?.[0]?.message || e?.code || String(err);
};

/**
 * The seed's preflight (`ATLAS_PREFLIGHT`): environment and config valid, Redis and Postgres reachable, migrations
 * current, which providers have keys. Any `fail` → exit 1. A provider without a key is a warning (its models fail
 * with "auth" and fall back), unless no configured model can run at all.
 */
export async function runDoctor(env: NodeJS.ProcessEnv): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const add = (name: string, status: CheckStatus, detail: string) => checks.push({ name, status, detail });

  let parsed: OrchexEnv;
  try {
    parsed = parseEnv(env);
    add('environment', 'ok', 'orchex variables valid');
  } catch (err) {
    add('environment', 'fail', message(err));
    for (const name of ['config', 'redis', 'postgres', 'migrations', 'providers'])
      add(name, 'skip', 'not checked: fix the environment first');
    return checks;
  }

  let config: OrchexConfig | undefined;
  try {
    config = loadConfig(parsed.configPath);
    const where = parsed.configPath ?? 'built-in default config';
    add(
      'config',
      'ok',
      `${where}: ${Object.keys(config.models).length} models, ${Object.keys(config.routing_rules).length} routing rules`,
    );
  } catch (err) {
    add('config', 'fail', message(err));
  }

  const { redisUrl } = parsed;
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    connectTimeout: 5000,
  });
  // connect() rejects with a bare "Connection is closed"; the socket's own error (ECONNREFUSED …) says why.
  let socketError: unknown;
  redis.on('error', (err) => {
    socketError = err;
  });
  try {
    await withTimeout(redis.connect(), 'Redis');
    const version = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? '?';
    // BullMQ loses jobs if Redis evicts keys under memory pressure; managed Redis may forbid CONFIG, hence the catch.
    const policy = await redis
      .config('GET', 'maxmemory-policy')
      .then((r) => (r as string[])[1])
      .catch(() => undefined);
    if (policy && policy !== 'noeviction')
      add(
        'redis',
        'warn',
        `${redactUrl(redisUrl)}: Redis ${version}, maxmemory-policy ${policy} (BullMQ needs noeviction)`,
      );
    else add('redis', 'ok', `${redactUrl(redisUrl)}: Redis ${version}`);
  } catch (err) {
    add('redis', 'fail', `${redactUrl(redisUrl)}: ${message(socketError ?? err)}`);
  } finally {
    redis.disconnect();
  }

  const { url, dataDir } = parsed.database;
  const pgLabel = url ? redactUrl(url) : `embedded PGlite in ${dataDir ?? DEFAULT_PGLITE_DIR}`;
  // The embedded database belongs to the one process that opened it: beside a running `npm start`, ask that API.
  const running = url ? undefined : await runningApiHealth(env);
  if (running) {
    const ok = running.postgres === 'ok';
    add('postgres', ok ? 'ok' : 'fail', `${pgLabel}, as the running API sees it: ${running.postgres}`);
    add('migrations', ok ? 'ok' : 'skip', ok ? 'applied by npm start when it started' : 'not checked: no database');
  }
  let db: DatabaseHandle | undefined;
  if (!running)
    try {
      db = await withTimeout(createDatabase(parsed.database), 'Postgres');
      const res = await withTimeout(
        db.db.execute<{ v: string }>(sql`select current_setting('server_version') as v`),
        'Postgres',
      );
      add('postgres', 'ok', `${pgLabel}: PostgreSQL ${res.rows[0]?.v ?? '?'}`);
      const m = await withTimeout(checkMigrationsCurrent(db), 'migrations');
      if (m.current) add('migrations', 'ok', 'all applied');
      else add('migrations', 'fail', `${m.pending} pending: run npm run db:migrate`);
    } catch (err) {
      if (!checks.some((c) => c.name === 'postgres')) {
        add('postgres', 'fail', `${pgLabel}: ${message(err)}`);
        add('migrations', 'skip', 'not checked: no database');
      } else add('migrations', 'fail', message(err));
    } finally {
      await db?.close().catch(() => {});
    }

  if (!config) add('providers', 'skip', 'not checked: no valid config');
  else {
    // The same check a worker makes at start: every adapter builds (a malformed base URL fails, naming the variable).
    try {
      createLanguageModels(Object.keys(config.models), config.models, env, await loadPlugins(config.plugins));
    } catch (err) {
      add('providers', 'fail', message(err));
    }
    // Models grouped by where their key comes from: a model's own api_key_env, else its provider's variable.
    const byKey = new Map<string, { provider: string; variable: string | null; models: string[] }>();
    for (const [name, m] of Object.entries(config.models)) {
      const variable = m.api_key_env ?? (isProviderName(m.provider) ? KEY_VARIABLE[m.provider] : null);
      const group = `${m.provider}:${variable}`;
      const entry = byKey.get(group) ?? { provider: m.provider, variable, models: [] };
      entry.models.push(name);
      byKey.set(group, entry);
    }
    let usable = 0;
    for (const { provider, variable, models } of byKey.values()) {
      if (variable === null) {
        usable += models.length;
        const base =
          provider === 'ollama' ? `; ${env.OLLAMA_BASE_URL?.trim() || 'http://127.0.0.1:11434/v1 (default)'}` : '';
        add(`provider ${provider}`, 'ok', `no key needed${base}; models: ${models.join(', ')}`);
      } else if (env[variable]?.trim()) {
        usable += models.length;
        add(`provider ${provider}`, 'ok', `${variable} set; models: ${models.join(', ')}`);
      } else {
        add(
          `provider ${provider}`,
          'warn',
          `${variable} not set: ${models.join(', ')} will fail with "auth" and fall back`,
        );
      }
    }
    if (usable === 0)
      add('providers', 'fail', 'no configured model has a provider key: set at least one of the variables above');
  }
  return checks;
}

/** `orchex doctor` in the orchex checkout: prints the checks; exit 1 when any failed. */
export async function doctorCommand(o: { json?: boolean }, io: CliIo): Promise<number> {
  return printDoctorReport(await runDoctor(io.env), o, io);
}

/** `GET /healthz` of the API at ORCHEX_URL (default the local one), or undefined when nothing answers as orchex. */
async function runningApiHealth(env: NodeJS.ProcessEnv): Promise<{ postgres: string } | undefined> {
  const base = env.ORCHEX_URL?.trim() || `http://127.0.0.1:${env.PORT?.trim() || 3000}`;
  try {
    const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2000) });
    const body = (await res.json()) as { postgres?: unknown };
    return typeof body.postgres === 'string' ? { postgres: body.postgres } : undefined;
  } catch {
    return undefined;
  }
}
