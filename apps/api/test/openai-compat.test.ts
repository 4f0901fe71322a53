import { sql } from 'drizzle-orm';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, TEST_ADMIN_KEY, TEST_API_KEY, type TestSystem } from '../../../test/support/start-system.ts';
import { waitFor } from '../../../test/support/task-client.ts';

describe('OpenAI-compatible endpoint, driven by the official openai SDK', () => {
  let sys: TestSystem;
  let client: OpenAI;
  beforeAll(async () => {
    sys = await startSystem('openai_compat');
    client = new OpenAI({ baseURL: `${sys.url}/v1`, apiKey: TEST_API_KEY, maxRetries: 0 });
  });
  afterAll(async () => sys?.close());

  it('a non-streamed completion answers like OpenAI, from a durable task, with orchex figures beside', async () => {
    const { data, response } = await client.chat.completions
      .create({
        model: 'claude-test',
        messages: [
          { role: 'system', content: 'Answer briefly.' },
          { role: 'user', content: 'What is entanglement?' },
        ],
        max_tokens: 200,
      })
      .withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.model).toBe('claude-test');
    expect(data.choices[0]?.message).toMatchObject({ role: 'assistant' });
    expect(data.choices[0]?.message.content).toMatch(/^fake answer from claude-test: What is entanglement/);
    expect(data.choices[0]?.finish_reason).toBe('stop');
    expect(data.usage?.total_tokens).toBe((data.usage?.prompt_tokens ?? 0) + (data.usage?.completion_tokens ?? 0));
    const taskId = response.headers.get('x-orchex-task-id') as string;
    const orchex = (data as unknown as { orchex: { task_id: string; plan: string[]; attempts: number; cost: number } })
      .orchex;
    expect(orchex).toMatchObject({ task_id: taskId, attempts: 1 });
    expect(orchex.plan[0]).toBe('claude-test');
    expect(Number(response.headers.get('x-orchex-cost'))).toBeCloseTo(orchex.cost, 9);
    // The same answer is the durable task's result.
    const task = await waitFor(sys, taskId);
    expect(task.content).toBe(data.choices[0]?.message.content);
  });

  it('model: a configured model leads its rule; orchex/auto classifies; orchex/<type> takes that rule', async () => {
    const led = await client.chat.completions.create({
      model: 'claude-test',
      messages: [{ role: 'user', content: 'x' }],
    });
    expect((led as unknown as { orchex: { plan: string[] } }).orchex.plan).toEqual([
      'claude-test',
      'gpt-test',
      'gemini-test',
    ]);
    const typed = await client.chat.completions.create({
      model: 'orchex/research',
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(typed.model).toBe('gpt-test');
    const auto = await client.chat.completions.create({
      model: 'orchex/auto',
      messages: [{ role: 'user', content: 'Write a Python function to reverse a list' }],
    });
    expect(auto.model).toBe('claude-test'); // classified as code
  });

  it('an unknown model is the SDK NotFoundError; tools are a BadRequestError naming the field', async () => {
    await expect(
      client.chat.completions.create({ model: 'gpt-9', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const err = await client.chat.completions
      .create({
        model: 'claude-test',
        messages: [{ role: 'user', content: 'x' }],
        tools: [{ type: 'function', function: { name: 'f', parameters: {} } }],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('tools');
    const n = await client.chat.completions
      .create({ model: 'claude-test', messages: [{ role: 'user', content: 'x' }], n: 2 })
      .catch((e: unknown) => e);
    expect((n as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('n');
    const bad = new OpenAI({ baseURL: `${sys.url}/v1`, apiKey: 'not-a-key-at-all-000', maxRetries: 0 });
    await expect(
      bad.chat.completions.create({ model: 'claude-test', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('a budget refusal is a 429 (the SDK RateLimitError) with Retry-After', async () => {
    const admin = { key: TEST_ADMIN_KEY };
    await sys.call('/v1/budget', { method: 'PUT', json: { max_daily_cost: 0 }, ...admin });
    try {
      const err = await client.chat.completions
        .create({ model: 'claude-test', messages: [{ role: 'user', content: 'too dear' }] })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.RateLimitError);
      const e = err as InstanceType<typeof OpenAI.RateLimitError>;
      expect(e.code).toBe('budget_exceeded');
      expect(Number(e.headers?.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      await sys.call('/v1/budget', { method: 'PUT', json: { max_daily_cost: null }, ...admin });
    }
  });

  it('models.list() returns the configured models, their aliases and the orchex routes', async () => {
    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toEqual(
      expect.arrayContaining(['claude-test', 'gpt-test', 'gemini-test', 'orchex/auto', 'orchex/code']),
    );
  });

  it('a client that goes away does not cancel the task; its result stays readable', async () => {
    sys.fake.script('gemini-test', [{ type: 'ok', latencyMs: 1500 }]);
    const controller = new AbortController();
    const pending = client.chat.completions
      .create(
        { model: 'gemini-test', messages: [{ role: 'user', content: 'keep going' }] },
        { signal: controller.signal },
      )
      .withResponse()
      .catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 500));
    controller.abort();
    expect(await pending).toBeInstanceOf(OpenAI.APIUserAbortError);
    // Find the task it started: the newest gemini task of this key.
    await new Promise((r) => setTimeout(r, 1500));
    const res = await sys.database.db.execute<{ id: string }>(
      (await import('drizzle-orm'))
        .sql`select id from tasks where plan->>0 = 'gemini-test' order by created_at desc limit 1`,
    );
    const task = await waitFor(sys, res.rows[0]!.id);
    expect(task.status).toBe('succeeded');
    expect(task.content).toMatch(/^fake answer from gemini-test: keep going/);
  });
});
