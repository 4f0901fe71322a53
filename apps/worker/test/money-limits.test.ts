import { faults } from '@orchex/providers/fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, TEST_ADMIN_KEY, type TestSystem } from '../../../test/support/start-system.ts';
import { submitAndWait, waitFor } from '../../../test/support/task-client.ts';
import { testConfigSource } from '../../../test/support/test-config.ts';

// Per 1,000 output tokens: claude-test $0.015, gpt-test and gemini-test $0.010 — so with max_tokens 1,000 a claude
// call's worst case is over $0.012 and the others' under it.
describe('money limits are held at every call, and a cheaper model of the plan runs when the first does not fit', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem('money_limits', {
      configSource: testConfigSource({ cost_limits: { max_per_request: 0.012 }, orchestrator: { max_retries: 0 } }),
    });
  });
  afterAll(async () => sys?.close());

  it('a re-route whose next model is over max_per_request skips it, with the reason recorded, and runs the one after', async () => {
    sys.fake.script('gpt-test', [faults.unauthorized()]);
    const t = await submitAndWait(sys, {
      prompt: 'route me',
      fallback_chain: ['gpt-test', 'claude-test', 'gemini-test'],
      max_tokens: 1000,
    });
    expect(t.status).toBe('succeeded');
    expect(t.model).toBe('gemini-test');
    expect(t.attempts.map((a) => `${a.model}:${a.outcome}`)).toEqual(['gpt-test:failed', 'gemini-test:succeeded']);
    const row = (await (await sys.call(`/v1/tasks/${t.id}`)).json()) as { routing_reason: string };
    expect(row.routing_reason).toMatch(
      /step 1 claude-test skipped: worst case \$0\.0\d+ over cost_limits\.max_per_request \$0\.012/,
    );
    expect(sys.fake.log.filter((l) => l.model === 'claude-test')).toHaveLength(0);
  });

  it('a plan whose first model is over max_per_request starts on the first that fits', async () => {
    const res = await sys.call('/v1/tasks', {
      method: 'POST',
      json: { prompt: 'start later', fallback_chain: ['claude-test', 'gpt-test'], max_tokens: 1000 },
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { id: string; model: string; routing_reason: string };
    expect(body.model).toBe('gpt-test');
    expect(body.routing_reason).toMatch(/claude-test over max_per_request \$0\.012, starts on gpt-test/);
    expect((await waitFor(sys, body.id)).attempts.map((a) => a.model)).toEqual(['gpt-test']);
  });

  it('when no model of the plan fits max_per_request, the task is refused (422) before anything is spent', async () => {
    const res = await sys.call('/v1/tasks', {
      method: 'POST',
      json: { prompt: 'too dear', fallback_chain: ['claude-test'], max_tokens: 1000 },
    });
    expect(res.status).toBe(422);
  });

  it('a daily budget that fits only the cheaper fallback runs the fallback; budget_exceeded only when none fits', async () => {
    // At max_tokens 700 both calls pass max_per_request (claude-test ~$0.0105, gpt-test ~$0.007): only the budget
    // decides. Leave room for a gpt-test call but not a claude-test one.
    const spentNow = async () =>
      ((await (await sys.call('/v1/budget', { key: TEST_ADMIN_KEY })).json()) as { spent: number }).spent;
    const setLimit = async (usd: number) =>
      expect(
        (await sys.call('/v1/budget', { method: 'PUT', json: { max_daily_cost: usd }, key: TEST_ADMIN_KEY })).status,
      ).toBe(200);
    await setLimit((await spentNow()) + 0.009);
    const t = await submitAndWait(sys, {
      prompt: 'cheap enough',
      fallback_chain: ['claude-test', 'gpt-test'],
      max_tokens: 700,
    });
    expect(t.status).toBe('succeeded');
    expect(t.model).toBe('gpt-test');
    expect(t.attempts.map((a) => a.model)).toEqual(['gpt-test']);
    const row = (await (await sys.call(`/v1/tasks/${t.id}`)).json()) as { routing_reason: string };
    expect(row.routing_reason).toMatch(/step 0 claude-test skipped: daily budget exceeded/);
    // Now leave room for neither: the task fails budget_exceeded without a call.
    await setLimit((await spentNow()) + 0.001);
    const none = await submitAndWait(sys, {
      prompt: 'nothing fits',
      fallback_chain: ['claude-test', 'gpt-test'],
      max_tokens: 700,
    });
    expect(none).toMatchObject({ status: 'failed', error: { kind: 'budget_exceeded' }, attempts: [] });
    await setLimit(100);
  });
});
