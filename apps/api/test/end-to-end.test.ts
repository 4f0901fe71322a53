import { queueName, stepJobId } from '@orchex/queue';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type TestSystem } from '../../../test/support/start-system.ts';

interface TaskJson {
  id: string;
  status: string;
  content: string | null;
  model: string | null;
  cost: number;
  usage: { inputTokens: { total: number }; outputTokens: { total: number } } | null;
  attempts: Array<{ model: string; outcome: string; cost: number; input_tokens: number; output_tokens: number }>;
}

async function submitAndWait(sys: TestSystem, body: Record<string, unknown>): Promise<TaskJson> {
  const res = await sys.call('/v1/tasks', { method: 'POST', json: body });
  expect(res.status).toBe(202);
  const { id } = (await res.json()) as { id: string };
  const got = await sys.call(`/v1/tasks/${id}?wait=20`);
  expect(got.status).toBe(200);
  return (await got.json()) as TaskJson;
}

describe.each([
  ['Postgres', false],
  ['PGlite (no DATABASE_URL)', true],
])('one task end to end on %s', (_name, pglite) => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem(pglite ? 'e2e_pglite' : 'e2e_pg', { pglite });
  });
  afterAll(async () => sys?.close());

  it.each([
    ['code', 'claude-test', 'anthropic'],
    ['research', 'gpt-test', 'openai'],
    ['long_context', 'gemini-test', 'google'],
    ['simple', 'llama-test', 'ollama'],
  ])('%s → %s: the fake answer, the model, usage, and cost = usage × price', async (taskType, model, provider) => {
    const task = await submitAndWait(sys, {
      prompt: `Explain quantum entanglement (${taskType})`,
      task_type: taskType,
      max_tokens: 200,
    });
    expect(task.status).toBe('succeeded');
    expect(task.model).toBe(model);
    expect(task.content).toContain(`fake answer from ${model}`);
    const last = sys.fake.log.filter((l) => l.model === model).at(-1);
    expect(last?.provider).toBe(provider);
    const input = task.usage!.inputTokens.total;
    const output = task.usage!.outputTokens.total;
    expect(input).toBeGreaterThan(0);
    expect(output).toBeGreaterThan(0);
    const m = sys.config.models[model]!;
    const expected = Math.ceil((input * m.input_cost_per_1k * 1e9 + output * m.output_cost_per_1k * 1e9) / 1e6) / 1e6;
    expect(task.cost).toBeCloseTo(expected, 9);
    expect(task.attempts).toHaveLength(1);
    expect(task.attempts[0]).toMatchObject({ model, outcome: 'succeeded', input_tokens: input, output_tokens: output });
  });
});

describe('idempotent processing', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem('e2e_redelivery');
  });
  afterAll(async () => sys?.close());

  it('the same job delivered again leaves one result, one attempt and no second provider call', async () => {
    const task = await submitAndWait(sys, { prompt: 'Write a function', task_type: 'code' });
    expect(task.status).toBe('succeeded');
    const callsBefore = sys.fake.log.length;

    // Redeliver: move the completed job back to waiting, as a lost acknowledgement would.
    const queue = new Queue(queueName('claude-test'), { connection: { url: sys.redisUrl }, prefix: sys.prefix });
    const job = await queue.getJob(stepJobId(task.id, 0));
    expect(await job?.getState()).toBe('completed');
    await job!.retry('completed');
    // Wait until the worker has processed it again.
    for (let i = 0; i < 100 && (await job!.getState()) !== 'completed'; i++)
      await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 200));
    expect(await job!.getState()).toBe('completed');
    await queue.close();

    const after = (await (await sys.call(`/v1/tasks/${task.id}`)).json()) as TaskJson;
    expect(after.attempts).toHaveLength(1);
    expect(after.cost).toBe(task.cost);
    expect(after.content).toBe(task.content);
    expect(sys.fake.log.length).toBe(callsBefore);
  });
});
