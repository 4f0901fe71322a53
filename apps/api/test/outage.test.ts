import { type RunningApi, startApi } from '@orchex/api/start';
import { type Logger, parseConfig } from '@orchex/core';
import { createDatabase, type DatabaseHandle, runMigrations } from '@orchex/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type PrivatePostgres,
  type PrivateRedis,
  startPrivatePostgres,
  startPrivateRedis,
} from '../../../test/support/private-services.ts';
import { TEST_ADMIN_KEY, TEST_API_KEY } from '../../../test/support/start-system.ts';
import { testConfigSource } from '../../../test/support/test-config.ts';

// Issue 9, item 5: while Postgres or Redis is down every route answers 503 with Retry-After, naming the dependency,
// never a 500, never a connection string or a driver's words; and nothing of a request reaches the logs.
let pg: PrivatePostgres;
let redis: PrivateRedis;
let database: DatabaseHandle;
let api: RunningApi;
const logLines: string[] = [];
const record =
  (level: string) =>
  (obj: object, msg?: string): void => {
    logLines.push(JSON.stringify({ level, msg, ...obj }));
  };
const logger: Logger = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
const SECRET_PROMPT = 'secret-prompt-7f3a';
let taskId: string;
let batchId: string;

beforeAll(async () => {
  [pg, redis] = await Promise.all([startPrivatePostgres(), startPrivateRedis()]);
  database = await createDatabase({ url: pg.url, poolSize: 4 });
  await runMigrations(database);
  api = await startApi({
    config: parseConfig(testConfigSource()),
    db: database.db,
    redisUrl: redis.url,
    prefix: 'outage',
    logger,
    apiKeys: [TEST_API_KEY],
    adminKey: TEST_ADMIN_KEY,
    port: 0,
    host: '127.0.0.1',
  });
  taskId = ((await (await call('POST', '/v1/tasks', { prompt: 'before' })).json()) as { id: string }).id;
  batchId = ((await (await call('POST', '/v1/batches', { tasks: [{ prompt: 'b' }] })).json()) as { id: string }).id;
}, 120_000);

afterAll(async () => {
  await api?.close();
  await database?.close();
  await Promise.all([pg?.destroy(), redis?.destroy()]);
});

function call(
  method: string,
  path: string,
  json?: unknown,
  key = TEST_API_KEY,
  signal?: AbortSignal,
): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${key}` };
  if (json !== undefined) headers['content-type'] = 'application/json';
  const body = json === undefined ? undefined : JSON.stringify(json);
  return fetch(`${api.url}${path}`, { method, headers, body, ...(signal ? { signal } : {}) });
}

/** Every route, with what it needs; a large body too (it goes through the planner thread). */
const routes = (): Array<{ name: string; needs: Array<'postgres' | 'redis'>; send: () => Promise<Response> }> => [
  {
    name: 'POST /v1/tasks',
    needs: ['postgres', 'redis'],
    send: () => call('POST', '/v1/tasks', { prompt: SECRET_PROMPT }),
  },
  {
    name: 'POST /v1/tasks (large body)',
    needs: ['postgres', 'redis'],
    send: () => call('POST', '/v1/tasks', { prompt: SECRET_PROMPT, context: 'lorem ipsum '.repeat(10_000) }),
  },
  { name: 'GET /v1/tasks/:id', needs: ['postgres'], send: () => call('GET', `/v1/tasks/${taskId}`) },
  {
    name: 'GET /v1/tasks/:id/events',
    needs: ['postgres'],
    // An event stream: only its status matters here; the body would run until the task ends.
    send: () => call('GET', `/v1/tasks/${taskId}/events`, undefined, TEST_API_KEY, AbortSignal.timeout(3000)),
  },
  {
    name: 'POST /v1/chat/completions',
    needs: ['postgres', 'redis'],
    send: () =>
      call('POST', '/v1/chat/completions', {
        model: 'orchex/auto',
        messages: [{ role: 'user', content: SECRET_PROMPT }],
      }),
  },
  { name: 'GET /v1/models', needs: [], send: () => call('GET', '/v1/models') },
  {
    name: 'GET /v1/budget/keys',
    needs: ['postgres', 'redis'],
    send: () => call('GET', '/v1/budget/keys', undefined, TEST_ADMIN_KEY),
  },
  { name: 'GET /v1/tasks/:id?wait=1', needs: ['postgres'], send: () => call('GET', `/v1/tasks/${taskId}?wait=1`) },
  {
    name: 'POST /v1/batches',
    needs: ['postgres', 'redis'],
    send: () => call('POST', '/v1/batches', { tasks: [{ prompt: SECRET_PROMPT }] }),
  },
  { name: 'GET /v1/batches/:id', needs: ['postgres'], send: () => call('GET', `/v1/batches/${batchId}`) },
  {
    name: 'GET /v1/batches/:id/results',
    needs: ['postgres'],
    send: () => call('GET', `/v1/batches/${batchId}/results`),
  },
  {
    name: 'POST /v1/batches/:id/cancel',
    needs: ['postgres'],
    send: () => call('POST', `/v1/batches/${batchId}/cancel`),
  },
  { name: 'GET /v1/costs/report', needs: ['postgres'], send: () => call('GET', '/v1/costs/report') },
  { name: 'GET /v1/costs/analysis', needs: ['postgres'], send: () => call('GET', '/v1/costs/analysis') },
  { name: 'GET /v1/budget', needs: ['postgres', 'redis'], send: () => call('GET', '/v1/budget') },
  {
    name: 'PUT /v1/budget',
    needs: ['postgres', 'redis'], // the runtime limit is kept in Postgres too
    send: () => call('PUT', '/v1/budget', { max_daily_cost: 7 }, TEST_ADMIN_KEY),
  },
  { name: 'GET /healthz', needs: ['postgres', 'redis'], send: () => fetch(`${api.url}/healthz`) },
  {
    name: 'GET /dashboard/api/recent-tasks',
    needs: ['postgres'],
    send: () => call('GET', '/dashboard/api/recent-tasks', undefined, TEST_ADMIN_KEY),
  },
  {
    name: 'GET /dashboard/api/v1/costs/report',
    needs: ['postgres'],
    send: () => call('GET', '/dashboard/api/v1/costs/report', undefined, TEST_ADMIN_KEY),
  },
  {
    name: 'GET /admin/queues/api/queues',
    needs: ['redis'],
    send: () => call('GET', '/admin/queues/api/queues', undefined, TEST_ADMIN_KEY),
  },
];

/** The first chunk of a streaming body, then the stream is closed. */
async function firstBytes(res: Response): Promise<string> {
  const reader = res.body?.getReader();
  const first = await reader?.read();
  await reader?.cancel();
  return first?.value ? Buffer.from(first.value).toString() : '';
}

/** Calls every route; returns what each answered. Nothing may be a 500 or leak an address or a driver's words. */
async function callAll(down: Array<'postgres' | 'redis'>) {
  const answers = [];
  for (const route of routes()) {
    const res = await route.send();
    // An event stream that opened (200) keeps going; its first bytes are enough.
    const text = res.headers.get('content-type')?.startsWith('text/event-stream')
      ? await firstBytes(res)
      : await res.text();
    answers.push({ route: route.name, status: res.status, retryAfter: res.headers.get('retry-after'), text });
    expect(res.status, `${route.name}: ${text}`).not.toBe(500);
    expect(text, route.name).not.toMatch(/postgres:\/\/|redis:\/\/|127\.0\.0\.1|ECONNREFUSED|Connection terminated/);
    const needed = route.needs.filter((d) => down.includes(d));
    if (needed.length > 0) {
      expect(res.status, `${route.name} with ${down.join(' and ')} down: ${text}`).toBe(503);
      expect(res.headers.get('retry-after'), route.name).toMatch(/^\d+$/);
      const named = needed.some((d) => text.includes(d));
      expect(named, `${route.name} names ${needed.join(' or ')}: ${text}`).toBe(true);
    }
  }
  console.log(`${down.join('+')} down: ${answers.map((a) => `${a.route} ${a.status}`).join(', ')}`);
  return answers;
}

describe('Postgres or Redis down → 503 + Retry-After on every route, never a 500', () => {
  it('with Postgres stopped', async () => {
    await pg.stop();
    try {
      const answers = await callAll(['postgres']);
      const health = answers.find((a) => a.route === 'GET /healthz');
      expect(JSON.parse(health?.text ?? '{}')).toMatchObject({ postgres: 'down', redis: 'ok' });
    } finally {
      await pg.start();
    }
  });

  it('with Redis killed', async () => {
    await redis.kill();
    try {
      const answers = await callAll(['redis']);
      const health = answers.find((a) => a.route === 'GET /healthz');
      expect(JSON.parse(health?.text ?? '{}')).toMatchObject({ postgres: 'ok', redis: 'down' });
    } finally {
      await redis.restart();
    }
  });

  it('with both down', async () => {
    await Promise.all([pg.stop(), redis.kill()]);
    try {
      const answers = await callAll(['postgres', 'redis']);
      // Every route that needs either answers 503; only the config's model list does not need them.
      expect(answers.filter((a) => a.status !== 503).map((a) => a.route)).toEqual(['GET /v1/models']);
    } finally {
      await Promise.all([pg.start(), redis.restart()]);
    }
  });

  it('answers again once both are back, and no log line holds the prompt or SQL', async () => {
    const deadline = Date.now() + 30_000;
    let status = 0;
    while (Date.now() < deadline && status !== 202) {
      status = (await call('POST', '/v1/tasks', { prompt: 'after' })).status;
      if (status !== 202) await new Promise((r) => setTimeout(r, 500));
    }
    expect(status).toBe(202);
    expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
    const logs = logLines.join('\n');
    expect(logs).not.toContain(SECRET_PROMPT);
    expect(logs).not.toMatch(/insert into|select .* from|params:/i);
  });
});
