import { tasks } from '@orchex/db';
import { and, eq, isNotNull, isNull, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, TEST_ADMIN_KEY, type TestSystem } from '../../../test/support/start-system.ts';
import { testConfigSource } from '../../../test/support/test-config.ts';

// Routing that learns from what the models did: measured latency (speed), health (circuit), the estimate, and A/B
// routes — on the real API, workers, Redis and Postgres, with the fake server making models slow or failing.
let sys: TestSystem;
beforeAll(async () => {
  sys = await startSystem('smart-routing', {
    configSource: testConfigSource({
      models: {
        'claude-test': { quality: 90 },
        'gpt-test': { quality: 80 },
        'gemini-test': { quality: 85 },
        'llama-test': { quality: 40 },
      },
      routing: {
        min_latency_samples: 3,
        health: { enabled: true, window: 10, min_outcomes: 4, consecutive_failures: 3, cooldown: 1, max_cooldown: 2 },
      },
      routing_rules: {
        analysis: {
          primary: 'claude-test',
          fallback: ['gpt-test'],
          variants: [
            { name: 'A', weight: 50, model: 'claude-test' },
            { name: 'B', weight: 50, model: 'gpt-test' },
          ],
        },
      },
    }),
  });
});
afterAll(async () => sys?.close());

interface Submitted {
  id: string;
  plan: string[];
  routing_reason: string;
  estimated_cost: number;
  variant: string | null;
}

async function submit(json: Record<string, unknown>): Promise<Submitted> {
  const res = await sys.call('/v1/tasks', { method: 'POST', json });
  expect(res.status, await res.clone().text()).toBe(202);
  return (await res.json()) as Submitted;
}

async function waitEnd(id: string): Promise<{ status: string; model: string; estimated_cost: number }> {
  const res = await sys.call(`/v1/tasks/${id}?wait=30`);
  const task = (await res.json()) as { status: string; model: string; estimated_cost: number };
  expect(['succeeded', 'failed']).toContain(task.status);
  return task;
}

/** Polls `probe` until it returns a value `ok` accepts (the workers flush signals every 250 ms; planners read them once a second). */
async function eventually<T>(probe: () => Promise<T>, ok: (v: T) => boolean, ms = 8000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function modelHealth(name: string) {
  const res = await sys.call('/v1/models');
  const body = (await res.json()) as { data: Array<{ id: string; orchex: { health?: Record<string, unknown> } }> };
  return body.data.find((m) => m.id === name)?.orchex.health as Record<string, unknown>;
}

describe('measured latency', () => {
  it('after a warm-up, `speed` plans put the slow model last, with the figures', async () => {
    sys.fake.setDefault('claude-test', { type: 'ok', latencyMs: 300 });
    const warm = [];
    for (const model of ['claude-test', 'gpt-test', 'gemini-test'])
      for (let i = 0; i < 4; i++) warm.push(submit({ prompt: `warm ${model} ${i}`, fallback_chain: [model] }));
    for (const t of await Promise.all(warm)) expect((await waitEnd(t.id)).status).toBe('succeeded');

    const planned = await eventually(
      () => submit({ prompt: 'Write a function that adds two numbers.', task_type: 'code', strategy: 'speed' }),
      (t) => t.plan.at(-1) === 'claude-test' && !t.routing_reason.includes('unmeasured'),
    );
    expect(planned.plan).toEqual([expect.stringMatching(/gpt-test|gemini-test/), expect.any(String), 'claude-test']);
    expect(planned.routing_reason).toMatch(
      /strategy speed, quality ≥ 80: .* > claude-test [\d.]+ ms\/token p50 \(\d+ calls\)/,
    );
    // llama-test (quality 40) is below the code rule's floor (its lowest quality: 80).
    expect(planned.plan).not.toContain('llama-test');

    const health = await modelHealth('claude-test');
    expect(health).toMatchObject({ healthy: true, measured: true, circuit: 'closed' });
    expect(health.latency_p50_ms as number).toBeGreaterThanOrEqual(300);
    expect(health.latency_samples as number).toBeGreaterThanOrEqual(4);
    sys.fake.setDefault('claude-test', { type: 'ok' });
  });
});

describe('health', () => {
  it('a model that keeps failing moves to the back of new plans, and comes back after it recovers', async () => {
    sys.fake.setDefault('gpt-test', { type: 'error', status: 500, preset: 'server' });
    // One task with only gpt-test: 3 attempts (max_retries 2), 3 failures in a row open the circuit.
    const doomed = await submit({ prompt: 'this one fails', fallback_chain: ['gpt-test'] });
    expect((await waitEnd(doomed.id)).status).toBe('failed');
    const open = await eventually(
      () => modelHealth('gpt-test'),
      (h) => h.circuit === 'open',
    );
    expect(open).toMatchObject({ healthy: false, circuit: 'open' });
    expect(open.error_rate as number).toBeGreaterThan(0);

    // The research rule starts on gpt-test; while it is unhealthy, new plans start on claude-test.
    const avoided = await eventually(
      () => submit({ prompt: 'Survey the literature on sleep.', task_type: 'research' }),
      (t) => t.plan[0] === 'claude-test',
    );
    expect(avoided.plan).toEqual(['claude-test', 'gpt-test']);
    expect(avoided.routing_reason).toContain('unhealthy, moved last: gpt-test (circuit open');
    expect((await waitEnd(avoided.id)).model).toBe('claude-test');

    // It recovers; after the cooldown (1 s) one task probes it, its success closes the circuit, and plans are as written.
    sys.fake.setDefault('gpt-test', { type: 'ok' });
    const probe = await eventually(
      () => submit({ prompt: 'Survey the literature on dreams.', task_type: 'research' }),
      (t) => t.plan[0] === 'gpt-test',
    );
    expect(probe.routing_reason).toContain('gpt-test probed after its circuit opened');
    expect((await waitEnd(probe.id)).model).toBe('gpt-test');
    const closed = await eventually(
      () => modelHealth('gpt-test'),
      (h) => h.circuit === 'closed',
    );
    expect(closed).toMatchObject({ healthy: true, circuit: 'closed' });
    const normal = await submit({ prompt: 'Survey the literature on naps.', task_type: 'research' });
    expect(normal.plan).toEqual(['gpt-test', 'claude-test']);
    expect(normal.routing_reason).not.toContain('unhealthy');
  });
});

describe('POST /v1/estimate', () => {
  it('equals what the submit then stores as estimated_cost, and stores nothing itself', async () => {
    const body = {
      prompt: 'Summarise the attached notes in five bullet points.',
      context: 'Meeting notes. '.repeat(200),
      fallback_chain: ['gpt-test', 'claude-test'],
      max_tokens: 700,
    };
    const before = await countTasks();
    const res = await sys.call('/v1/estimate', { method: 'POST', json: body });
    expect(res.status).toBe(200);
    const est = (await res.json()) as {
      tasks: Array<{ plan: string[]; estimated_cost: number; per_model: Array<Record<string, unknown>> }>;
      estimated_cost: number;
      expected_cost: number;
      budget: { remaining: number | null; fits: boolean };
    };
    expect(await countTasks()).toBe(before);
    expect(est.tasks[0]?.plan).toEqual(['gpt-test', 'claude-test']);
    expect(est.tasks[0]?.per_model.map((m) => m.model)).toEqual(['gpt-test', 'claude-test']);
    expect(est.tasks[0]?.per_model[0]?.worst_case_cost).toBe(est.estimated_cost);
    expect(est.expected_cost).toBeLessThanOrEqual(est.estimated_cost);
    expect(est.budget).toMatchObject({ remaining: null, fits: true });

    const submitted = await submit(body);
    expect(submitted.estimated_cost).toBe(est.estimated_cost);
    expect((await waitEnd(submitted.id)).estimated_cost).toBe(est.estimated_cost);

    // A batch's body: one estimate per task and their sum.
    const batch = await sys.call('/v1/estimate', {
      method: 'POST',
      json: { tasks: [body, { ...body, fallback_chain: ['claude-test'] }] },
    });
    const b = (await batch.json()) as { tasks: Array<{ estimated_cost: number }>; estimated_cost: number };
    expect(b.tasks).toHaveLength(2);
    expect(b.tasks[0]?.estimated_cost).toBe(est.estimated_cost);
    expect(b.estimated_cost).toBeCloseTo((b.tasks[0]?.estimated_cost ?? 0) + (b.tasks[1]?.estimated_cost ?? 0), 9);
  });

  it('refuses what the submit refuses, with the same field', async () => {
    const res = await sys.call('/v1/estimate', { method: 'POST', json: { prompt: 'x', strategy: 'fastest' } });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { fields: Array<{ field: string; message: string }> } };
    expect(body.error.fields[0]).toMatchObject({ field: 'strategy' });
    expect(body.error.fields[0]?.message).toContain('cost, quality, speed, balanced');
  });
});

describe('A/B routes', () => {
  it('a 50/50 rule over 200 tasks assigns 80–120 to each, stably by ab_key, and the variant report sums to its totals', async () => {
    const res = await sys.call('/v1/batches', {
      method: 'POST',
      json: {
        tasks: Array.from({ length: 200 }, (_, i) => ({ prompt: `compare option ${i}`, task_type: 'analysis' })),
      },
    });
    expect(res.status).toBe(202);
    const counts = await sys.database.db
      .select({ variant: tasks.variant, n: sql<number>`count(*)::int` })
      .from(tasks)
      .where(and(eq(tasks.taskType, 'analysis'), isNotNull(tasks.variant), isNull(tasks.parentTaskId)))
      .groupBy(tasks.variant);
    const by = Object.fromEntries(counts.map((c) => [c.variant, c.n]));
    expect(by.A).toBeGreaterThanOrEqual(80);
    expect(by.A).toBeLessThanOrEqual(120);
    expect((by.A ?? 0) + (by.B ?? 0)).toBe(200);

    const keyed = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        submit({ prompt: `resubmit ${i}`, task_type: 'analysis', metadata: { ab_key: 'customer-7' } }),
      ),
    );
    expect(new Set(keyed.map((t) => t.variant)).size).toBe(1);
    expect(keyed[0]?.plan[0]).toBe(keyed[0]?.variant === 'A' ? 'claude-test' : 'gpt-test');

    // Everything ends, then the report: per variant cost, latency, failure rate and tokens, summing to the totals.
    await eventually(
      () => countTasks(sql`variant is not null and status not in ('succeeded', 'failed')`),
      (n) => n === 0,
      30_000,
    );
    const report = await sys.call('/v1/costs/report?group_by=variant', { key: TEST_ADMIN_KEY });
    expect(report.status).toBe(200);
    const r = (await report.json()) as {
      tasks: number;
      cost: number;
      requests: number;
      input_tokens: number;
      output_tokens: number;
      groups: Array<{
        key: string;
        task_type: string;
        tasks: number;
        cost: number;
        requests: number;
        input_tokens: number;
        output_tokens: number;
        failure_rate: number | null;
        latency_p50_ms: number | null;
      }>;
    };
    expect(r.tasks).toBe(206);
    expect(r.groups.map((g) => `${g.task_type}/${g.key}`)).toEqual(['analysis/A', 'analysis/B']);
    const sum = (f: (g: (typeof r.groups)[number]) => number) => r.groups.reduce((s, g) => s + f(g), 0);
    expect(sum((g) => g.tasks)).toBe(r.tasks);
    expect(sum((g) => g.requests)).toBe(r.requests);
    expect(sum((g) => g.input_tokens)).toBe(r.input_tokens);
    expect(sum((g) => g.output_tokens)).toBe(r.output_tokens);
    expect(sum((g) => g.cost)).toBeCloseTo(r.cost, 6);
    const [stored] = await sys.database.db
      .select({ micros: sql<string>`sum(cost_micros)` })
      .from(tasks)
      .where(isNotNull(tasks.variant));
    expect(r.cost).toBeCloseTo(Number(stored?.micros) / 1e6, 6);
    for (const g of r.groups) {
      expect(g.failure_rate).toBe(0);
      expect(g.latency_p50_ms).not.toBeNull();
    }
  });
});

async function countTasks(where = sql`true`): Promise<number> {
  const [row] = await sys.database.db.select({ n: sql<number>`count(*)::int` }).from(tasks).where(where);
  return row?.n ?? 0;
}
