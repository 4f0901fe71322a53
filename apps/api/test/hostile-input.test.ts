import { ServerResponse } from 'node:http';
import { tasks } from '@orchex/db';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeLoop } from '../../../test/support/loop-probe.ts';
import { OTHER_API_KEY, startSystem, TEST_ADMIN_KEY, type TestSystem } from '../../../test/support/start-system.ts';
import { submitAndWait } from '../../../test/support/task-client.ts';

// Issue 9, item 6: hostile input gets a 4xx naming the field, fast, and nothing is stored.
let sys: TestSystem; // no workers: nothing here may reach a model
let live: TestSystem; // with workers, for the tasks that must run to the end
beforeAll(async () => {
  [sys, live] = await Promise.all([startSystem('hostile', { workers: false }), startSystem('hostile_live')]);
});
afterAll(async () => {
  await Promise.all([sys?.close(), live?.close()]);
});

interface ErrorJson {
  error: { code: string; message: string; fields?: Array<{ field: string; message: string }> };
}
const taskCount = async (s: TestSystem) =>
  (await s.database.db.select({ n: sql<number>`count(*)::int` }).from(tasks))[0]?.n;

/** POSTs `body` (an object, or raw JSON text) and returns the status and the error's fields. */
async function post(path: string, body: unknown, s = sys) {
  const res = await s.call(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const json = (await res.json()) as ErrorJson & { id?: string };
  return { status: res.status, json, fields: json.error?.fields?.map((f) => f.field) ?? [] };
}

describe('strings Postgres cannot store or a model cannot read → 400 naming the field, nothing stored', () => {
  const nul = 'a\u0000b';
  const lone = 'a\ud800b';
  it.each([
    ['a prompt with \\u0000', '/v1/tasks', { prompt: `Summarize ${nul}` }, 'prompt'],
    ['a context with a lone surrogate', '/v1/tasks', { prompt: 'p', context: lone }, 'context'],
    ['a system prompt with \\u0000', '/v1/tasks', { prompt: 'p', system: nul }, 'system'],
    ['an idempotency key with \\u0000', '/v1/tasks', { prompt: 'p', idempotency_key: nul }, 'idempotency_key'],
    ['a fallback_chain name with \\u0000', '/v1/tasks', { prompt: 'p', fallback_chain: [nul] }, 'fallback_chain.0'],
    ['a nested metadata value', '/v1/tasks', { prompt: 'p', metadata: { a: [{ b: nul }] } }, 'metadata.a.0.b'],
    ['a metadata key', '/v1/tasks', { prompt: 'p', metadata: { a: { [lone]: 1 } } }, 'metadata.a'],
    ['a conversation turn', '/v1/tasks', { messages: [{ role: 'user', content: nul }] }, 'messages.0.content'],
    ['a stop sequence', '/v1/tasks', { prompt: 'p', stop: ['ok', lone] }, 'stop.1'],
    ['a batch task prompt', '/v1/batches', { tasks: [{ prompt: 'ok' }, { prompt: nul }] }, 'tasks.1.prompt'],
    ['a batch name', '/v1/batches', { tasks: [{ prompt: 'ok' }], name: lone }, 'name'],
    ['a batch idempotency key', '/v1/batches', { tasks: [{ prompt: 'ok' }], idempotency_key: nul }, 'idempotency_key'],
  ])('%s', async (_name, path, body, field) => {
    const before = await taskCount(sys);
    const res = await post(path, body);
    expect(res.status).toBe(400);
    expect(res.fields).toContain(field);
    expect(JSON.stringify(res.json)).not.toMatch(/a\\u0000b|a\\ud800b/);
    expect(await taskCount(sys)).toBe(before);
  });

  it("a chat completion with \\u0000 in a message → 400 in OpenAI's shape, naming the message", async () => {
    const before = await taskCount(sys);
    const res = await post('/v1/chat/completions', {
      model: 'orchex/auto',
      messages: [{ role: 'user', content: nul }],
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.json)).toContain('messages');
    expect(await taskCount(sys)).toBe(before);
  });

  it('the same escapes written by hand in the JSON text are caught too', async () => {
    const res = await post('/v1/tasks', '{"prompt": "x\\u0000y", "context": "\\udc00"}');
    expect(res.status).toBe(400);
    expect(res.fields.sort()).toEqual(['context', 'prompt']);
  });
});

describe('body bytes', () => {
  it('a UTF-8 byte order mark is dropped, whether the body is planned inline or on a thread', async () => {
    for (const context of ['small', 'x'.repeat(20_000)]) {
      const res = await post('/v1/tasks', `\ufeff${JSON.stringify({ prompt: 'bom', task_type: 'simple', context })}`);
      expect(res.status, JSON.stringify(res.json)).toBe(202);
    }
  });

  it('invalid UTF-8 becomes U+FFFD (as express.json read it), not a 500', async () => {
    const bytes = Buffer.concat([Buffer.from('{"prompt":"a'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]);
    const res = await sys.call('/v1/tasks', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new Uint8Array(bytes),
    });
    expect(res.status).toBe(202);
  });
});

describe('model names are own properties of the config', () => {
  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])(
    '"fallback_chain": ["%s"] → 400 naming fallback_chain.0',
    async (name) => {
      const res = await post('/v1/tasks', { prompt: 'p', fallback_chain: [name] });
      expect(res.status).toBe(400);
      expect(res.fields).toEqual(['fallback_chain.0']);
      const batch = await post('/v1/batches', { tasks: [{ prompt: 'p', fallback_chain: ['gpt-test', name] }] });
      expect(batch.status).toBe(400);
      expect(batch.fields).toEqual(['tasks.0.fallback_chain.1']);
    },
  );

  it('?baseline=constructor on the cost analysis → 400 naming baseline', async () => {
    const res = await sys.call('/v1/costs/analysis?baseline=constructor');
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorJson).error.fields?.map((f) => f.field)).toEqual(['baseline']);
  });
});

describe('timeout in whole milliseconds', () => {
  it('"timeout": 2.01 → 202 and the task succeeds', async () => {
    const task = await submitAndWait(live, { prompt: 'Write a haiku about rain', timeout: 2.01 }, 30_000);
    expect(task.status).toBe('succeeded');
    expect(task.attempts.map((a) => a.outcome)).toEqual(['succeeded']);
  });

  it('a timeout that rounds to 0 ms → 400 naming timeout', async () => {
    const res = await post('/v1/tasks', { prompt: 'p', timeout: 0.0004 });
    expect(res.status).toBe(400);
    expect(res.fields).toEqual(['timeout']);
  });
});

describe('whitespace is split in linear time', () => {
  // The paragraph regex was quadratic on whitespace: 20,000 spaces held the loop ~370 ms, ~1 MB for minutes.
  it.each([
    ['20,000 spaces', ' '.repeat(20_000)],
    ['~1 MB of whitespace', `${' '.repeat(99)}\n`.repeat(10_000)],
  ])('a context of %s is accepted without holding the event loop', async (_name, context) => {
    // llama-test's 8,000-token window cannot hold it with 4,000 tokens of output: the planner splits the context
    // (the path of the paragraph scan), and refuses (422) when the parts' answers would not fit the reduce.
    const body = JSON.stringify({ prompt: 'Summarize.', fallback_chain: ['llama-test'], max_tokens: 4000, context });
    const { result, busyMs } = await probeLoop(() =>
      sys.call('/v1/tasks', { method: 'POST', headers: { 'content-type': 'application/json' }, body }),
    );
    expect(result.status, await result.text()).toBeLessThan(500);
    expect([202, 422]).toContain(result.status);
    expect(busyMs).toBeLessThanOrEqual(50);
  });
});

describe('idempotency keys', () => {
  it('the same key with a different task → 409 idempotency_key_reused naming the key; the same task is a replay', async () => {
    const first = await post('/v1/tasks', { prompt: 'first', idempotency_key: 'key-409' });
    expect(first.status).toBe(202);
    const again = await post('/v1/tasks', { prompt: 'first', idempotency_key: 'key-409', max_tokens: 1024 });
    expect(again.status).toBe(200); // max_tokens 1024 is the default: the same request
    expect(again.json.id).toBe(first.json.id);
    const other = await post('/v1/tasks', { prompt: 'second', idempotency_key: 'key-409' });
    expect(other.status).toBe(409);
    expect(other.json.error.code).toBe('idempotency_key_reused');
    expect(other.json.error.message).toContain('key-409');
    expect(other.fields).toEqual(['idempotency_key']);
    // Another API key has its own keys.
    const mine = await sys.call('/v1/tasks', {
      method: 'POST',
      json: { prompt: 'second', idempotency_key: 'key-409' },
      key: OTHER_API_KEY,
    });
    expect(mine.status).toBe(202);
  });

  it('the same for batches (a different name or task list is a different request)', async () => {
    const body = { tasks: [{ prompt: 'a' }, { prompt: 'b' }], name: 'n', idempotency_key: 'batch-409' };
    expect((await post('/v1/batches', body)).status).toBe(202);
    expect((await post('/v1/batches', { ...body, tasks: [{ prompt: 'b' }, { prompt: 'a' }] })).status).toBe(409);
    expect((await post('/v1/batches', { ...body, name: 'other' })).status).toBe(409);
    const same = await post('/v1/batches', { idempotency_key: 'batch-409', name: 'n', tasks: body.tasks });
    expect(same.status).toBe(200);
  });

  it('a split (long-context) task with a reused key → 409 too', async () => {
    const context = 'word '.repeat(9_000); // over llama-test's 8,000-token window: split
    const first = await post('/v1/tasks', {
      prompt: 'sum',
      task_type: 'simple',
      context,
      idempotency_key: 'split-409',
    });
    expect(first.status).toBe(202);
    const other = await post('/v1/tasks', {
      prompt: 'other',
      task_type: 'simple',
      context,
      idempotency_key: 'split-409',
    });
    expect(other.status).toBe(409);
  });
});

describe('PUT /v1/budget', () => {
  it('{"max_daily_cost": null} removes the limit (found by the fuzz: it was a 500)', async () => {
    const put = (v: unknown) =>
      sys.call('/v1/budget', { method: 'PUT', json: { max_daily_cost: v }, key: TEST_ADMIN_KEY });
    expect((await put(3)).status).toBe(200);
    const res = await put(null);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { limit: number | null }).limit).toBeNull();
  });
});

describe('GET /v1/tasks/:id?wait', () => {
  it('adds one close listener per request, not one per 2 s round', async () => {
    const { json } = await post('/v1/tasks', { prompt: 'stays queued', task_type: 'simple' });
    const once = ServerResponse.prototype.once;
    const closeListeners = new Map<ServerResponse, number>();
    ServerResponse.prototype.once = function (this: ServerResponse, event: string | symbol, listener) {
      if (event === 'close') closeListeners.set(this, (closeListeners.get(this) ?? 0) + 1);
      return once.call(this, event, listener);
    } as typeof once;
    try {
      const res = await sys.call(`/v1/tasks/${json.id}?wait=5`); // three rounds of the wait loop
      expect(res.status).toBe(200);
    } finally {
      ServerResponse.prototype.once = once;
    }
    expect(Math.max(0, ...closeListeners.values())).toBe(1);
  });
});

describe('admin pages may not be framed', () => {
  const basic = `Basic ${Buffer.from(`admin:${TEST_ADMIN_KEY}`).toString('base64')}`;
  it.each([
    ['/admin/queues/', basic],
    ['/admin/queues/api/queues', basic],
    ['/admin/queues/', null],
    ['/dashboard/', basic],
    ['/dashboard/api/recent-tasks', basic],
    ['/dashboard/', null],
  ])("%s (auth: %s) sends frame-ancestors 'none'", async (path, auth) => {
    const res = await fetch(`${sys.url}${path}`, auth ? { headers: { authorization: auth } } : {});
    expect(res.status).toBe(auth ? 200 : 401);
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
  });
});
