import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningApi, startApi } from '@orchex/api/start';
import { type OrchexConfig, parseConfig, silentLogger } from '@orchex/core';
import { createDatabase, type DatabaseHandle, runMigrations } from '@orchex/db';
import { type FakeLlmServer, fakeProviderEnv, startFakeLlmServer } from '@orchex/providers/fake';
import { startWorkers, type WorkerPool, type WorkerPoolOptions } from '@orchex/worker/start';
import { inject } from 'vitest';
import { freshDatabase } from './fresh-database.ts';
import { testConfigSource } from './test-config.ts';

export const TEST_API_KEY = 'test-client-key-000001';
export const OTHER_API_KEY = 'test-client-key-000002';
export const TEST_ADMIN_KEY = 'test-admin-key-0000001';

export interface TestSystem {
  url: string;
  api: RunningApi;
  database: DatabaseHandle;
  databaseUrl: string;
  redisUrl: string;
  fake: FakeLlmServer;
  /** Environment a worker child process needs to reach the same services (incl. ORCHEX_CONFIG). */
  env: Record<string, string>;
  prefix: string;
  config: OrchexConfig;
  pool: WorkerPool | undefined;
  /** fetch against the API with the test key (or `key`). */
  call(path: string, init?: RequestInit & { json?: unknown; key?: string | null }): Promise<Response>;
  close(): Promise<void>;
}

/**
 * The whole system on the real services: a fresh Postgres database (migrated), a unique Redis prefix, the fake
 * wire server with every provider pointed at it, the API, and (unless `workers: false`) an in-process worker pool.
 */
export async function startSystem(
  label: string,
  opts: {
    /** A parsed config; or give `configSource` (plain data) so worker child processes can load it from a file. */
    config?: OrchexConfig;
    configSource?: Record<string, unknown>;
    workers?: false | Partial<WorkerPoolOptions>;
    pglite?: boolean;
    /** Another Redis than the shared test one (e.g. a private server a test restarts). */
    redisUrl?: string;
    /** Seed nodes of a Redis Cluster (redisUrl then names one of them, for credentials). Default: no cluster. */
    redisCluster?: { nodes: string[] };
    /** Another Postgres server than the shared test one (e.g. a private cluster a test stops). */
    databaseUrl?: string;
    /** null = no admin key configured. Default TEST_ADMIN_KEY. */
    adminKey?: string | null;
    /** ORCHEX_METRICS_TOKEN of the API. Default none (the admin key still opens /metrics). */
    metricsToken?: string;
  } = {},
): Promise<TestSystem> {
  const redisUrl = opts.redisUrl ?? inject('redisUrl');
  const pgliteDir = opts.pglite ? mkdtempSync(join(tmpdir(), 'orchex-pglite-')) : undefined;
  const fresh = pgliteDir
    ? { url: '', drop: async () => rmSync(pgliteDir, { recursive: true, force: true }) }
    : await freshDatabase(opts.databaseUrl ?? inject('databaseUrl'), label);
  const database = await createDatabase(pgliteDir ? { dataDir: pgliteDir } : { url: fresh.url, poolSize: 5 });
  await runMigrations(database);
  const fake = await startFakeLlmServer();
  const prefix = `t-${label}-${randomBytes(3).toString('hex')}`;
  const source = opts.configSource ?? testConfigSource();
  const config = opts.config ?? parseConfig(source);
  const configPath = join(mkdtempSync(join(tmpdir(), 'orchex-cfg-')), 'orchex.json');
  writeFileSync(configPath, JSON.stringify(source));
  const env: Record<string, string> = {
    ...fakeProviderEnv(fake.url),
    REDIS_URL: redisUrl,
    DATABASE_URL: fresh.url,
    ORCHEX_PREFIX: prefix,
    ORCHEX_CONFIG: configPath,
    ...(opts.redisCluster ? { ORCHEX_REDIS_CLUSTER: '1', ORCHEX_REDIS_NODES: opts.redisCluster.nodes.join(',') } : {}),
  };
  const pool =
    opts.workers === false
      ? undefined
      : await startWorkers({
          config,
          db: database.db,
          redisUrl,
          redisCluster: opts.redisCluster,
          prefix,
          logger: silentLogger,
          backoffBaseMs: 50,
          ...opts.workers,
          providerEnv: { ...process.env, ...env },
        });
  const api = await startApi({
    config,
    db: database.db,
    redisUrl,
    redisCluster: opts.redisCluster,
    prefix,
    logger: silentLogger,
    apiKeys: [TEST_API_KEY, OTHER_API_KEY],
    adminKey: opts.adminKey === null ? undefined : (opts.adminKey ?? TEST_ADMIN_KEY),
    port: 0,
    host: '127.0.0.1',
    bodyLimit: '1mb',
    metricsToken: opts.metricsToken,
  });
  return {
    url: api.url,
    api,
    database,
    databaseUrl: fresh.url,
    redisUrl,
    fake,
    env,
    prefix,
    config,
    pool,
    call(path, init = {}) {
      const { json, key, ...rest } = init;
      const headers = new Headers(rest.headers);
      const k = key === undefined ? TEST_API_KEY : key;
      if (k) headers.set('authorization', `Bearer ${k}`);
      if (json !== undefined) headers.set('content-type', 'application/json');
      return fetch(`${api.url}${path}`, {
        ...rest,
        headers,
        body: json !== undefined ? JSON.stringify(json) : rest.body,
      });
    },
    async close() {
      await api.close();
      await pool?.close(5000);
      await fake.close();
      await database.close();
      await fresh.drop();
    },
  };
}
