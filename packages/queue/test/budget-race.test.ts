import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, TEST_ADMIN_KEY, type TestSystem } from '../../../test/support/start-system.ts';
import { submit, waitFor } from '../../../test/support/task-client.ts';
import { testConfigSource } from '../../../test/support/test-config.ts';

// claude-test: $3 / $15 per million tokens. Each call is scripted to use 100 input + 200 output tokens = $0.0033,
// never more than its reserved worst case (input estimate ≥ 100, max_tokens 200).
const PER_CALL_USD = 0.0033;
const LIMIT_USD = 50 * PER_CALL_USD;
const PROMPT = 'word '.repeat(100); // 100 tokens (cl100k), estimated at ≥ 100 for Anthropic (+ margin, overhead)

describe('the daily budget under concurrency', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem('budget_race', {
      configSource: testConfigSource({ cost_limits: { max_daily_cost: LIMIT_USD } }),
      workers: { concurrency: 50 },
    });
    sys.fake.setDefault('claude-test', { type: 'ok', latencyMs: 20, usage: { input: 100, output: 200 } });
  });
  afterAll(async () => sys?.close());

  it('200 tasks at once with a budget for 50: spend ≤ budget, the rest fail budget_exceeded without a call', async () => {
    const ids = await Promise.all(
      Array.from({ length: 200 }, () =>
        submit(sys, { prompt: PROMPT, fallback_chain: ['claude-test', 'gpt-test'], max_tokens: 200 }),
      ),
    );
    const tasks = await Promise.all(ids.map((id) => waitFor(sys, id, 90_000)));
    const succeeded = tasks.filter((t) => t.status === 'succeeded');
    const refused = tasks.filter((t) => t.status === 'failed' && t.error?.kind === 'budget_exceeded');
    expect(succeeded.length + refused.length).toBe(200);
    expect(succeeded.length).toBeGreaterThanOrEqual(45);
    expect(succeeded.length).toBeLessThanOrEqual(50);
    // No fallback to another model on budget_exceeded, and the provider saw only the tasks that fit.
    expect(sys.fake.log.filter((l) => l.model === 'gpt-test')).toHaveLength(0);
    expect(sys.fake.log.filter((l) => l.model === 'claude-test')).toHaveLength(succeeded.length);
    expect(refused.every((t) => t.attempts.length === 0)).toBe(true);

    const spent = await sys.database.db.execute<{ micros: string }>(
      sql`select coalesce(sum(cost_micros), 0) as micros from attempts`,
    );
    const spentUsd = Number(spent.rows[0]!.micros) / 1e6;
    expect(spentUsd).toBeLessThanOrEqual(LIMIT_USD + 1e-9);

    const budget = (await (await sys.call('/v1/budget')).json()) as { spent: number; reserved: number; limit: number };
    expect(budget.limit).toBeCloseTo(LIMIT_USD, 9);
    expect(budget.spent).toBeCloseTo(spentUsd, 9);
    expect(budget.reserved).toBe(0);
  }, 120_000);

  it('PUT /v1/budget needs the admin key, then raises the limit for every process', async () => {
    const denied = await sys.call('/v1/budget', { method: 'PUT', json: { max_daily_cost: 100 } });
    expect(denied.status).toBe(403);
    const bad = await sys.call('/v1/budget', { method: 'PUT', json: { max_daily_cost: -1 }, key: TEST_ADMIN_KEY });
    expect(bad.status).toBe(400);
    const ok = await sys.call('/v1/budget', { method: 'PUT', json: { max_daily_cost: 100 }, key: TEST_ADMIN_KEY });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { limit: number }).limit).toBe(100);
    const t = await waitFor(
      sys,
      await submit(sys, { prompt: PROMPT, fallback_chain: ['claude-test'], max_tokens: 200 }),
    );
    expect(t.status).toBe('succeeded');
  });
});
