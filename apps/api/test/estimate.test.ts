import { tasks } from '@orchex/db';
import { count } from 'drizzle-orm';
import { countTokens as cl100k } from 'gpt-tokenizer/encoding/cl100k_base';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueJobs } from '../../../test/support/queue-jobs.ts';
import { startSystem, type TestSystem } from '../../../test/support/start-system.ts';
import { testConfigSource } from '../../../test/support/test-config.ts';

// The pre-flight estimate at submit. No worker runs here, so what a refused submit left behind would stay in the
// model queues: they are where "nothing queued" is checked.
let sys: TestSystem;
beforeAll(async () => {
  sys = await startSystem('estimate', {
    configSource: testConfigSource({ cost_limits: { max_per_request: 0.05 } }),
    workers: false,
  });
});
afterAll(async () => sys?.close());

const asText = { disallowedSpecial: new Set<string>() };

describe('POST /v1/tasks pre-flight estimate', () => {
  it('OpenAI first model: input counted with its tokenizer, estimated_cost = input × $1.25/MTok + max_tokens × $10/MTok', async () => {
    const system = 'Reply with JSON only.';
    const prompt = 'List the three largest moons of Jupiter with their diameters in km — 木星の衛星.';
    const res = await sys.call('/v1/tasks', {
      method: 'POST',
      json: { prompt, system, fallback_chain: ['gpt-test'], max_tokens: 500 },
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { model: string; estimated_cost: number };
    expect(body.model).toBe('gpt-test');
    // system and user messages, 3 tokens each, 3 priming the reply (gpt-test is unknown to OpenAI's table → o200k_base).
    const input = countTokens(system, asText) + countTokens(prompt, asText) + 9;
    expect(body.estimated_cost).toBe(Math.ceil(input * 1.25 + 500 * 10) / 1e6);
  });

  it('over cost_limits.max_per_request → 422 naming the limit and the estimate, nothing stored or queued', async () => {
    const jobs = queueJobs(sys.redisUrl, sys.prefix);
    const models = Object.keys(sys.config.models);
    const queued = () => Promise.all(models.map(async (m) => [m, await jobs.counts(m)] as const));
    const queuedBefore = await queued();
    const before = (await sys.database.db.select({ n: count() }).from(tasks))[0]?.n;
    // claude-test: $3 in, $15 out per MTok. 4,000 output tokens alone are $0.06 > $0.05.
    const res = await sys.call('/v1/tasks', {
      method: 'POST',
      json: { prompt: 'Write a long essay about tides.', fallback_chain: ['claude-test'], max_tokens: 4_000 },
    });
    expect(res.status).toBe(422);
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('over_max_per_request');
    // Anthropic has no offline tokenizer: cl100k_base's count × 1.3, + 8 for framing (a bound that errs high).
    const input = Math.ceil(cl100k('Write a long essay about tides.', asText) * 1.3) + 8;
    const micros = input * 3 + 4_000 * 15;
    expect(error.message).toBe(
      `estimated worst-case cost $${micros / 1e6} on claude-test exceeds cost_limits.max_per_request $0.05`,
    );
    expect((await sys.database.db.select({ n: count() }).from(tasks))[0]?.n).toBe(before);
    // No job in any model's queue, in any state: the refused model's queue is still empty, the others unchanged.
    const queuedAfter = await queued();
    await jobs.close();
    expect(queuedAfter).toEqual(queuedBefore);
    const claude = queuedAfter.find(([m]) => m === 'claude-test')?.[1];
    expect(claude && Object.values(claude).every((n) => n === 0)).toBe(true);
  });

  it('a large context counts too: within the limit on max_tokens alone, over it with the document', async () => {
    const small = await sys.call('/v1/tasks', {
      method: 'POST',
      json: { prompt: 'Summarise.', fallback_chain: ['gpt-test'], max_tokens: 1_000 },
    });
    expect(small.status).toBe(202);
    // 268K characters (over TOKENIZE_MAX_CHARS, so sampled) ≈ 60K tokens ≈ $0.075 of input at $1.25/MTok.
    const context = 'The committee reviewed 1,204 filings and found 37 irregularities. '.repeat(4_000);
    const big = await sys.call('/v1/tasks', {
      method: 'POST',
      json: { prompt: 'Summarise.', context, fallback_chain: ['gpt-test'], max_tokens: 1_000 },
    });
    expect(big.status).toBe(422);
    const { error } = (await big.json()) as { error: { message: string } };
    expect(error.message).toMatch(
      /^estimated worst-case cost \$0\.\d+ on gpt-test exceeds cost_limits\.max_per_request \$0\.05$/,
    );
  });
});
