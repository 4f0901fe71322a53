import { queueName, stepJobId } from '@orchex/queue';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OTHER_API_KEY, startSystem, TEST_ADMIN_KEY, type TestSystem } from '../../../test/support/start-system.ts';

// Validation and auth need no worker: nothing here must reach a model.
let sys: TestSystem;
beforeAll(async () => {
  sys = await startSystem('api', { workers: false });
});
afterAll(async () => sys?.close());

async function errorOf(res: Response) {
  const body = (await res.json()) as {
    error: { code: string; message: string; fields?: Array<{ field: string; message: string }> };
  };
  return body.error;
}

describe('POST /v1/tasks validation', () => {
  it.each([
    ['missing prompt', {}, 'prompt'],
    ['empty prompt', { prompt: '   ' }, 'prompt'],
    ['task_type not a word', { prompt: 'hi', task_type: 'two words!' }, 'task_type'],
    ['negative max_tokens', { prompt: 'hi', max_tokens: -5 }, 'max_tokens'],
    ['huge max_tokens', { prompt: 'hi', max_tokens: 10_000_000 }, 'max_tokens'],
    ['fractional max_tokens', { prompt: 'hi', max_tokens: 1.5 }, 'max_tokens'],
    ['temperature out of range', { prompt: 'hi', temperature: 7 }, 'temperature'],
    ['unknown field', { prompt: 'hi', promt: 'typo' }, '(root)'],
    ['fallback_chain not a list', { prompt: 'hi', fallback_chain: 'gpt-test' }, 'fallback_chain'],
    ['unknown model in fallback_chain', { prompt: 'hi', fallback_chain: ['gpt-test', 'gpt-9'] }, 'fallback_chain.1'],
  ])('%s → 400 naming the field', async (_name, body, field) => {
    const res = await sys.call('/v1/tasks', { method: 'POST', json: body });
    expect(res.status).toBe(400);
    const err = await errorOf(res);
    expect(err.code).toBe('validation_error');
    expect(err.fields?.map((f) => f.field)).toContain(field);
    expect(err.message.length).toBeGreaterThan(5);
  });

  it('any task_type is accepted: one without a rule is classified from the prompt, and the reason says so', async () => {
    const res = await sys.call('/v1/tasks', {
      method: 'POST',
      json: { prompt: 'Explain quantum entanglement in simple terms', task_type: 'Explanation' },
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { task_type: string; routing_reason: string };
    expect(body.task_type).toBe('explanation');
    expect(body.routing_reason).toMatch(/^task_type=explanation has no rule; classified as /);
  });

  it('malformed JSON → 400 invalid_json', async () => {
    const res = await sys.call('/v1/tasks', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"prompt": "hi",',
    });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe('invalid_json');
  });

  it('a JSON array or a string body → 400, not 500', async () => {
    for (const body of ['[1,2]', '"hello"', 'null']) {
      const res = await sys.call('/v1/tasks', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(res.status).toBe(400);
    }
  });

  it('oversized body → 413', async () => {
    const res = await sys.call('/v1/tasks', { method: 'POST', json: { prompt: 'x'.repeat(2 * 1024 * 1024) } });
    expect(res.status).toBe(413);
    expect((await errorOf(res)).code).toBe('payload_too_large');
  });
});

describe('auth and visibility', () => {
  it('no key or a wrong key → 401', async () => {
    expect((await sys.call('/v1/tasks', { method: 'POST', json: { prompt: 'hi' }, key: null })).status).toBe(401);
    expect(
      (await sys.call('/v1/tasks', { method: 'POST', json: { prompt: 'hi' }, key: 'wrong-key-wrong-key' })).status,
    ).toBe(401);
    expect((await sys.call('/v1/tasks/00000000-0000-4000-8000-000000000000', { key: null })).status).toBe(401);
  });

  it("another key's task → 404; the owner sees it", async () => {
    const res = await sys.call('/v1/tasks', { method: 'POST', json: { prompt: 'hello', task_type: 'code' } });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    expect((await sys.call(`/v1/tasks/${id}`)).status).toBe(200);
    expect((await sys.call(`/v1/tasks/${id}`, { key: OTHER_API_KEY })).status).toBe(404);
    // With ?wait, too: another key's task is not found at once, not after the wait; the owner waits, and with no
    // worker here gets the task as it is when the wait ends.
    const start = Date.now();
    expect((await sys.call(`/v1/tasks/${id}?wait=5`, { key: OTHER_API_KEY })).status).toBe(404);
    expect(Date.now() - start).toBeLessThan(4000);
    const waited = await sys.call(`/v1/tasks/${id}?wait=1`);
    expect(waited.status).toBe(200);
    expect(((await waited.json()) as { status: string }).status).toBe('queued');
    expect(Date.now() - start).toBeGreaterThanOrEqual(1000);
  });

  it('a malformed id → 400 naming id; unknown routes → 404 JSON', async () => {
    const res = await sys.call('/v1/tasks/not-a-uuid');
    expect(res.status).toBe(400);
    expect((await errorOf(res)).fields?.[0]?.field).toBe('id');
    const nf = await sys.call('/v1/nothing-here');
    expect(nf.status).toBe(404);
    expect((await errorOf(nf)).code).toBe('not_found');
  });

  it('wait out of range → 400 naming wait', async () => {
    const res = await sys.call('/v1/tasks/00000000-0000-4000-8000-000000000000?wait=9999');
    expect(res.status).toBe(400);
    expect((await errorOf(res)).fields?.[0]?.field).toBe('wait');
  });
});

describe('submit', () => {
  it('202 with id, status, model and plan; the plan follows the routing rule', async () => {
    const res = await sys.call('/v1/tasks', {
      method: 'POST',
      json: { prompt: 'Write a function', task_type: 'code' },
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { id: string; status: string; model: string; plan: string[] };
    expect(body).toMatchObject({
      status: 'queued',
      model: 'claude-test',
      plan: ['claude-test', 'gpt-test', 'gemini-test'],
    });
    // The job carries ids only: no prompt text in Redis.
    const queue = new Queue(queueName('claude-test'), { connection: { url: sys.redisUrl }, prefix: sys.prefix });
    const job = await queue.getJob(stepJobId(body.id, 0));
    await queue.close();
    expect(job?.data).toEqual({ taskId: body.id, step: 0 });
  });

  it('the same idempotency_key from the same key returns the first task', async () => {
    const body = { prompt: 'once only', task_type: 'simple', idempotency_key: 'abc-123' };
    const a = await sys.call('/v1/tasks', { method: 'POST', json: body });
    const b = await sys.call('/v1/tasks', { method: 'POST', json: body });
    expect(a.status).toBe(202);
    expect(b.status).toBe(200);
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    expect(((await b.json()) as { id: string }).id).toBe(((await a.json()) as { id: string }).id);
    // Another API key with the same idempotency key gets its own task.
    const c = await sys.call('/v1/tasks', { method: 'POST', json: body, key: OTHER_API_KEY });
    expect(c.status).toBe(202);
  });
});

describe('health and Bull Board', () => {
  it('/healthz → 200 when Redis and Postgres answer', async () => {
    const res = await fetch(`${sys.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ redis: 'ok', postgres: 'ok' });
  });

  it('Bull Board needs the admin key, and its API lists every model queue', async () => {
    expect((await fetch(`${sys.url}/admin/queues/api/queues`)).status).toBe(401);
    const bad = await fetch(`${sys.url}/admin/queues/api/queues`, {
      headers: { authorization: 'Bearer test-client-key-000001' },
    });
    expect(bad.status).toBe(401);
    const basic = `Basic ${Buffer.from(`admin:${TEST_ADMIN_KEY}`).toString('base64')}`;
    const res = await fetch(`${sys.url}/admin/queues/api/queues`, { headers: { authorization: basic } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { queues: Array<{ name: string }> };
    expect(body.queues.map((q) => q.name).sort()).toEqual(
      Object.keys(sys.config.models)
        .map((m) => `{${m}}`)
        .sort(),
    );
  });
});
