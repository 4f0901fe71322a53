import { silentLogger } from '@orchex/core';
import { faults } from '@orchex/providers/fake';
import { createRedis, ModelQueues, sweepOrphans } from '@orchex/queue';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type TestSystem } from '../../../test/support/start-system.ts';
import { waitFor } from '../../../test/support/task-client.ts';
import { testConfigSource } from '../../../test/support/test-config.ts';

/** ~100,000 words in paragraphs of sentences, each sentence numbered so chunks are distinguishable. */
function document(words: number): string {
  const paras: string[] = [];
  let n = 0;
  while (n < words) {
    const sentences: string[] = [];
    for (let s = 0; s < 8; s++, n += 10)
      sentences.push(`Sentence ${n} tells about quantum entanglement and its many strange effects.`);
    paras.push(sentences.join(' '));
  }
  return paras.join('\n\n');
}

describe('long context: split into map parts and a reduce part (a BullMQ flow)', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem('long_context', {
      configSource: testConfigSource({
        long_context: { map_max_tokens: 200 },
        models: {
          'small-test': {
            provider: 'anthropic',
            model_id: 'small-test',
            input_cost_per_1k: 0.001,
            output_cost_per_1k: 0.002,
            max_tokens: 8_000,
            rpm: 6000,
            max_concurrency: 50,
          },
        },
      }),
      workers: { concurrency: 16 },
    });
  });
  afterAll(async () => sys?.close());

  it('a 100,000-word context on a small-window plan: N maps + 1 reduce, the answer is the reduce output, cost is the sum', async () => {
    const context = document(100_000);
    sys.fake.script('small-test', [faults.serverError()]); // the first chunk call fails once
    const res = await sys.call('/v1/tasks', {
      method: 'POST',
      json: {
        prompt: 'Summarise what the document says about entanglement',
        context,
        fallback_chain: ['small-test'],
        max_tokens: 300,
      },
    });
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as { id: string; parts: number; routing_reason: string };
    expect(accepted.routing_reason).toMatch(/split into \d+ map parts \+ 1 reduce/);
    const t = (await waitFor(sys, accepted.id, 90_000)) as Awaited<ReturnType<typeof waitFor>> & {
      parts: Array<{ id: string; kind: string; index: number; status: string; cost: number }>;
    };
    expect(t.status).toBe('succeeded');
    const maps = t.parts.filter((p) => p.kind === 'map');
    const reduce = t.parts.filter((p) => p.kind === 'reduce');
    expect(maps.length).toBeGreaterThan(10); // ~150K tokens into an 8K window
    expect(maps.length + 1).toBe(accepted.parts);
    expect(reduce).toHaveLength(1);
    expect(maps.map((m) => m.index)).toEqual(maps.map((_, i) => i));

    const reduceRow = (await (await sys.call(`/v1/tasks/${reduce[0]!.id}`)).json()) as { content: string };
    expect(t.content).toBe(reduceRow.content);
    expect(t.content).toMatch(/^fake answer from small-test: A long document was read in/);

    const db = sys.database.db;
    const costs = await db.execute<{ micros: string; attempts: number; failed: number }>(sql`
      select coalesce(sum(a.cost_micros), 0) as micros, count(*)::int as attempts,
             count(*) filter (where a.outcome = 'failed')::int as failed
      from attempts a join tasks p on p.id = a.task_id where p.parent_task_id = ${accepted.id}::uuid`);
    const row = costs.rows[0]!;
    expect(t.cost).toBeCloseTo(Number(row.micros) / 1e6, 9);
    expect(t.cost).toBeGreaterThan(0);
    // One chunk failed once and was retried: one more attempt than parts.
    expect(row.failed).toBe(1);
    expect(row.attempts).toBe(accepted.parts + 1);
  }, 120_000);

  it('when a model in the plan fits the whole input, it is used instead of splitting', async () => {
    const context = document(20_000); // ~30K tokens: too big for llama-test, fits gemini-test
    const res = await sys.call('/v1/tasks', {
      method: 'POST',
      json: { prompt: 'Summarise', context, fallback_chain: ['llama-test', 'gemini-test'] },
    });
    const body = (await res.json()) as { id: string; model: string; parts?: number };
    expect(res.status).toBe(202);
    expect(body.model).toBe('gemini-test');
    expect(body.parts).toBeUndefined();
    const t = await waitFor(sys, body.id);
    expect(t.status).toBe('succeeded');
    expect(t.model).toBe('gemini-test');
  });

  it('a document whose part answers could not fit any window for the reduce → 422 before anything is spent', async () => {
    const res = await sys.call('/v1/tasks', {
      method: 'POST',
      json: { prompt: 'Summarise', context: document(100_000), fallback_chain: ['llama-test'], max_tokens: 5000 },
    });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
      /would not fit any model of the plan/,
    );
  });

  it('a split task whose flow Redis lost is re-added by the orphan sweep and completes', async () => {
    const queues = new ModelQueues(sys.config, createRedis(sys.redisUrl), sys.prefix);
    const q = queues.get('small-test');
    await q.pause();
    const res = await sys.call('/v1/tasks', {
      method: 'POST',
      json: { prompt: 'Summarise', context: document(20_000), fallback_chain: ['small-test'], max_tokens: 300 },
    });
    const { id } = (await res.json()) as { id: string };
    await q.obliterate({ force: true }); // the whole flow is gone, as after a Redis restart without persistence
    await sys.database.db.execute(
      sql`update tasks set created_at = now() - interval '5 minutes', updated_at = now() - interval '5 minutes'
          where id = ${id}::uuid or parent_task_id = ${id}::uuid`,
    );
    await q.resume();
    expect(await sweepOrphans(sys.database.db, queues, silentLogger)).toBeGreaterThanOrEqual(1);
    const t = await waitFor(sys, id, 60_000);
    expect(t.status).toBe('succeeded');
    expect(t.content).toMatch(/^fake answer from small-test: A long document was read in/);
    await queues.close();
    queues.connection.disconnect();
  }, 90_000);

  it('a batch task whose context fits no model of its plan is split like a single task; its batch result is the reduced answer with the parts cost', async () => {
    const res = await sys.call('/v1/batches', {
      method: 'POST',
      json: {
        tasks: [
          { prompt: 'A short question', task_type: 'simple' },
          { prompt: 'Summarise the entanglement facts', context: document(20_000), fallback_chain: ['small-test'] },
        ],
      },
    });
    expect(res.status, await res.clone().text()).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const deadline = Date.now() + 90_000;
    let summary: { status: string; counts: { succeeded: number; failed: number } };
    do {
      await new Promise((r) => setTimeout(r, 300));
      summary = (await (await sys.call(`/v1/batches/${id}`)).json()) as typeof summary;
    } while (summary.counts.succeeded + summary.counts.failed < 2 && Date.now() < deadline);
    expect(summary.counts).toMatchObject({ succeeded: 2, failed: 0 });

    const page = (await (await sys.call(`/v1/batches/${id}/results`)).json()) as {
      results: Array<{
        index: number;
        id: string;
        status: string;
        content: string;
        cost: number;
        routing_reason: string;
      }>;
    };
    const split = page.results[1]!;
    expect(split.routing_reason).toMatch(/split into \d+ map parts \+ 1 reduce/);
    expect(split.status).toBe('succeeded');
    // The reduce part's answer is the task's answer ...
    const db = sys.database.db;
    const reduce = await db.execute<{ result_text: string }>(
      sql`select result_text from tasks where parent_task_id = ${split.id}::uuid and part_kind = 'reduce'`,
    );
    expect(split.content).toBe(reduce.rows[0]!.result_text);
    expect(split.content).toMatch(/^fake answer from small-test: A long document was read in/);
    // ... and its cost is what every part's attempts cost.
    const costs = await db.execute<{ micros: string; parts: number }>(sql`
      select coalesce(sum(a.cost_micros), 0) as micros, count(distinct p.id)::int as parts
      from tasks p join attempts a on a.task_id = p.id where p.parent_task_id = ${split.id}::uuid`);
    expect(costs.rows[0]!.parts).toBeGreaterThan(2);
    expect(split.cost).toBeGreaterThan(0);
    expect(split.cost).toBeCloseTo(Number(costs.rows[0]!.micros) / 1e6, 9);
    // Parts belong to the task, not the batch: the batch still has its two tasks.
    expect(page.results.map((r) => r.index)).toEqual([0, 1]);
  }, 120_000);

  it('a map part that fails for good fails the task and cancels the parts not started: no more money on it', async () => {
    sys.fake.clearScripts();
    sys.fake.script('small-test', [faults.unauthorized()]);
    sys.fake.setDefault('small-test', { type: 'ok', latencyMs: 300 });
    sys.fake.resetLog();
    const res = await sys.call('/v1/tasks', {
      method: 'POST',
      json: { prompt: 'Summarise', context: document(100_000), fallback_chain: ['small-test'], max_tokens: 300 },
    });
    const accepted = (await res.json()) as { id: string; parts: number };
    const t = (await waitFor(sys, accepted.id, 90_000)) as Awaited<ReturnType<typeof waitFor>> & {
      parts: Array<{ kind: string; status: string }>;
    };
    expect(t.status).toBe('failed');
    expect(t.error?.message).toMatch(/^part \d+ failed: small-test: anthropic 401/);
    const cancelled = t.parts.filter((p) => p.status === 'cancelled');
    expect(cancelled.length).toBeGreaterThan(0);
    expect(t.parts.find((p) => p.kind === 'reduce')?.status).toBe('cancelled');
    // Let any job of a cancelled part reach a worker: none of them calls the model.
    await new Promise((r) => setTimeout(r, 1500));
    const calls = sys.fake.log.filter((e) => e.model === 'small-test').length;
    expect(calls).toBe(accepted.parts - 1 - cancelled.filter((p) => p.kind === 'map').length);
    sys.fake.clearScripts();
    sys.fake.setDefault('small-test', { type: 'ok' });
  }, 120_000);

  it('a prompt too large for every model and nothing to split → 422', async () => {
    const res = await sys.call('/v1/tasks', {
      method: 'POST',
      json: { prompt: 'word '.repeat(20_000), fallback_chain: ['llama-test'] },
    });
    expect(res.status).toBe(422);
  });
});
