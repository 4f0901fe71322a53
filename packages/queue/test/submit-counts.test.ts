import { buildMessages, estimateInputTokens } from '@orchex/core';
import type { TaskParams } from '@orchex/db';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, TEST_ADMIN_KEY, type TestSystem } from '../../../test/support/start-system.ts';
import { submit, waitFor } from '../../../test/support/task-client.ts';
import { spawnWorker, type WorkerProcess } from '../../../test/support/worker-process.ts';

// The API counts a task's input tokens for every model of its plan at submit; the worker holds money and tpm with
// those counts instead of counting again (so it never loads a tokenizer's tables for such a task).
describe('input tokens counted once, at submit', () => {
  let sys: TestSystem;
  let worker: WorkerProcess | undefined;
  beforeAll(async () => {
    sys = await startSystem('submit_counts', { workers: false });
  });
  afterAll(async () => {
    worker?.proc.kill('SIGKILL');
    await sys?.close();
  });

  const params = async (id: string) =>
    (await sys.database.db.execute<{ params: TaskParams }>(sql`select params from tasks where id = ${id}::uuid`))
      .rows[0]!.params;

  it('stores the count of each plan model, equal to what the worker would count over what it sends', async () => {
    const input = { prompt: 'Count me once, please.', context: 'Some context.', system: 'Be brief.' };
    const id = await submit(sys, { ...input, fallback_chain: ['gpt-test', 'claude-test'] });
    const stored = (await params(id)).inputTokens;
    const sent = { prompt: input.prompt, messages: buildMessages(input), system: input.system };
    expect(stored).toEqual({
      'gpt-test': estimateInputTokens(sent, sys.config.models['gpt-test']!),
      'claude-test': estimateInputTokens(sent, sys.config.models['claude-test']!),
    });
  });

  it("the worker's budget hold uses the stored count", async () => {
    const limit = await sys.call('/v1/budget', { method: 'PUT', json: { max_daily_cost: 1 }, key: TEST_ADMIN_KEY });
    expect(limit.status).toBe(200);
    const small = await submit(sys, { prompt: 'fits', fallback_chain: ['gpt-test'], max_tokens: 16 });
    const inflated = await submit(sys, { prompt: 'fits too', fallback_chain: ['gpt-test'], max_tokens: 16 });
    // 10M input tokens at $0.00125/1k is $12.50: over the $1 day, if (and only if) the worker reads the stored count.
    await sys.database.db.execute(
      sql`update tasks set params = jsonb_set(params, '{inputTokens,gpt-test}', '10000000') where id = ${inflated}::uuid`,
    );
    worker = spawnWorker(sys.env, ['--queues', 'gpt-test']);
    await worker.ready;
    expect((await waitFor(sys, small)).status).toBe('succeeded');
    const refused = await waitFor(sys, inflated);
    expect(refused.status).toBe('failed');
    expect(refused.error?.kind).toBe('budget_exceeded');
  });
});
