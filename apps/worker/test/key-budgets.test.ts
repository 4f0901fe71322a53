import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  OTHER_API_KEY,
  startSystem,
  TEST_ADMIN_KEY,
  TEST_API_KEY,
  type TestSystem,
} from '../../../test/support/start-system.ts';
import { type TaskJson, waitFor } from '../../../test/support/task-client.ts';
import { testConfigSource } from '../../../test/support/test-config.ts';

type KeyBudget = { scope: string; key_id: string; limit: number | null; spent: number; reserved: number };
const PROMPT = 'word '.repeat(100);

describe('budgets per API key', () => {
  let sys: TestSystem;
  let ids: Record<string, string>;
  beforeAll(async () => {
    sys = await startSystem('key_budgets', {
      configSource: testConfigSource({ cost_limits: { max_daily_cost: 100 } }),
      workers: { concurrency: 50 },
    });
    // Each call: 100 input + 200 output tokens on claude-test = 3,300 µ$; its hold is a little more.
    sys.fake.setDefault('claude-test', { type: 'ok', latencyMs: 30, usage: { input: 100, output: 200 } });
    const res = await sys.call('/v1/budget/keys', { key: TEST_ADMIN_KEY });
    const { keys } = (await res.json()) as { keys: Array<{ key_id: string; key_hint: string }> };
    const byHint = (k: string) => keys.find((x) => x.key_hint === `…${k.slice(-4)}`)?.key_id as string;
    ids = { a: byHint(TEST_API_KEY), b: byHint(OTHER_API_KEY) };
  });
  afterAll(async () => sys?.close());

  const own = async (key: string) => (await (await sys.call('/v1/budget', { key })).json()) as KeyBudget;
  const cap = async (keyId: string, usd: number) =>
    expect(
      (
        await sys.call(`/v1/budget/keys/${keyId}`, {
          method: 'PUT',
          json: { max_daily_cost: usd },
          key: TEST_ADMIN_KEY,
        })
      ).status,
    ).toBe(200);
  const race = async (key: string, n: number): Promise<TaskJson[]> => {
    const ids = await Promise.all(
      Array.from({ length: n }, async () => {
        const res = await sys.call('/v1/tasks', {
          method: 'POST',
          key,
          json: { prompt: PROMPT, fallback_chain: ['claude-test'], max_tokens: 200 },
        });
        return ((await res.json()) as { id: string }).id;
      }),
    );
    return Promise.all(
      ids.map(async (id) => (await (await sys.call(`/v1/tasks/${id}?wait=60`, { key })).json()) as TaskJson),
    );
  };

  it('two keys racing at once: neither overspends its own cap, and neither sees the other', async () => {
    await cap(ids.a!, 0.035); // room for ~10 calls
    await cap(ids.b!, 0.017); // room for ~5 calls
    const [a, b] = await Promise.all([race(TEST_API_KEY, 40), race(OTHER_API_KEY, 40)]);
    for (const [tasks, capUsd] of [
      [a, 0.035],
      [b, 0.017],
    ] as const) {
      const ok = tasks.filter((t) => t.status === 'succeeded');
      const refused = tasks.filter((t) => t.status === 'failed' && t.error?.kind === 'budget_exceeded');
      expect(ok.length + refused.length).toBe(40);
      expect(ok.length).toBeGreaterThan(0);
      expect(refused.length).toBeGreaterThan(0);
      expect(refused[0]!.error?.message).toMatch(/this API key's daily budget exceeded/);
      expect(ok.reduce((s, t) => s + t.cost, 0)).toBeLessThanOrEqual(capUsd + 1e-9);
    }
    // Each key sees its own spend — what its own tasks cost — and nothing of the other's.
    const [viewA, viewB] = [await own(TEST_API_KEY), await own(OTHER_API_KEY)];
    const sum = (ts: TaskJson[]) => ts.reduce((s, t) => s + t.cost, 0);
    expect(viewA).toMatchObject({ scope: 'key', key_id: ids.a, limit: 0.035, reserved: 0 });
    expect(viewA.spent).toBeCloseTo(sum(a), 9);
    expect(viewB.spent).toBeCloseTo(sum(b), 9);
    expect(JSON.stringify(viewA)).not.toContain(ids.b!);
    // Only the admin sees the total.
    const global = (await (await sys.call('/v1/budget', { key: TEST_ADMIN_KEY })).json()) as KeyBudget;
    expect(global.scope).toBe('global');
    expect(global.spent).toBeCloseTo(sum(a) + sum(b), 9);
    const rows = await sys.database.db.execute<{ n: number }>(sql`select count(*)::int as n from attempts`);
    expect(rows.rows[0]!.n).toBe(a.concat(b).filter((t) => t.status === 'succeeded').length);
  }, 120_000);

  it('a key lowers its own limit with its own key, but cannot raise it past the admin cap', async () => {
    const spent = (await own(TEST_API_KEY)).spent;
    const lower = await sys.call('/v1/budget', { method: 'PUT', json: { max_daily_cost: spent + 0.001 } });
    expect(lower.status).toBe(200);
    expect(await lower.json()).toMatchObject({ scope: 'key', own_limit: spent + 0.001 });
    const [t] = await race(TEST_API_KEY, 1);
    expect(t).toMatchObject({ status: 'failed', error: { kind: 'budget_exceeded' } });
    const raise = await sys.call('/v1/budget', { method: 'PUT', json: { max_daily_cost: 50 } });
    expect(raise.status).toBe(403);
  });
});
