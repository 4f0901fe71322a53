import { faults } from '@orchex/providers/fake';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type TestSystem } from '../../../test/support/start-system.ts';
import { submitAndWait } from '../../../test/support/task-client.ts';
import { testConfigSource } from '../../../test/support/test-config.ts';

type AttemptJson = { model: string; outcome: string; error_kind: string | null; cost: number; cost_estimated: boolean };

describe('calls whose outcome is unknown are paid for at their worst case, marked as estimated', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem('unknown_outcome', {
      configSource: testConfigSource({ orchestrator: { max_retries: 0 }, cost_limits: { max_daily_cost: 50 } }),
    });
  });
  afterAll(async () => sys?.close());

  const spentToday = async () => {
    const res = await fetch(`${sys.url}/v1/budget`, { headers: { authorization: 'Bearer test-admin-key-0000001' } });
    const body = (await res.json()) as { spent: number; reserved: number };
    if (typeof body.spent !== 'number') throw new Error(`budget: ${res.status} ${JSON.stringify(body)}`);
    return body.spent;
  };

  it.each([
    ['a deadline that fires mid-call', faults.hang(), 'timeout', true],
    ['a connection reset after the request was sent', faults.reset(), 'connection', true],
    ['an answer that cannot be read', faults.malformed(), 'malformed_response', true],
    ['an error the provider answered with', faults.serverError(), 'server', false],
  ] as const)('%s', async (_what, fault, kind, estimated) => {
    sys.fake.script('claude-test', [fault]);
    const spentBefore = await spentToday();
    const t = await submitAndWait(sys, {
      prompt: `unknown outcome: ${kind}`,
      fallback_chain: ['claude-test', 'gpt-test'],
      max_tokens: 1000,
      timeout: 1,
    });
    expect(t.status).toBe('succeeded');
    const [failed, ok] = t.attempts as unknown as AttemptJson[];
    expect(failed).toMatchObject({
      model: 'claude-test',
      outcome: 'failed',
      error_kind: kind,
      cost_estimated: estimated,
    });
    if (estimated) {
      // The worst case of the call: its input estimate plus max_tokens of output at claude-test's prices.
      expect(failed!.cost).toBeGreaterThanOrEqual((1000 * 0.015) / 1000);
    } else expect(failed!.cost).toBe(0);
    expect(ok).toMatchObject({ model: 'gpt-test', outcome: 'succeeded', cost_estimated: false });
    // The task, the rollup and the daily budget all count the estimated attempt once.
    expect(t.cost).toBeCloseTo(failed!.cost + ok!.cost, 6);
    expect((await spentToday()) - spentBefore).toBeCloseTo(t.cost, 6);
    const rows = await sys.database.db.execute<{ n: number }>(
      sql`select count(*)::int as n from attempts where task_id = ${t.id}::uuid and cost_estimated`,
    );
    expect(rows.rows[0]!.n).toBe(estimated ? 1 : 0);
  });
});
