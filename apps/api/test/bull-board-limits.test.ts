import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetrics, sampleValue } from '../../../test/support/prometheus-text.ts';
import { startSystem, TEST_ADMIN_KEY, type TestSystem } from '../../../test/support/start-system.ts';

// What an operator sees of a model's limits: Bull Board's queue API, GET /v1/models and the metrics must say
// "limited" only while the model really is (here: paused by a provider's 429), and show the live counts.
let sys: TestSystem;

interface BoardQueue {
  name: string;
  activeRateLimitTtl: number;
  description?: string;
  counts: Record<string, number>;
}
interface ModelEntry {
  id: string;
  orchex: {
    limits?: {
      slots_in_use: number;
      requests_in_window: number;
      rpm: number;
      paused_until: string | null;
      limited: boolean;
    };
  };
}

async function boardQueue(model: string): Promise<BoardQueue> {
  const res = await sys.call('/admin/queues/api/queues', { key: TEST_ADMIN_KEY });
  expect(res.status).toBe(200);
  const { queues } = (await res.json()) as { queues: BoardQueue[] };
  const q = queues.find((x) => x.name === `{${model}}`);
  if (!q) throw new Error(`no queue {${model}} in Bull Board`);
  return q;
}

async function modelLimits(model: string) {
  const { data } = (await (await sys.call('/v1/models')).json()) as { data: ModelEntry[] };
  return data.find((m) => m.id === model)?.orchex.limits;
}

async function limitedGauge(model: string): Promise<number> {
  const res = await sys.call('/metrics', { key: TEST_ADMIN_KEY });
  const text = await res.text();
  return sampleValue(parseMetrics(text), 'orchex_model_limited', { model });
}

async function runTask(model: string) {
  const res = await sys.call('/v1/tasks', { method: 'POST', json: { prompt: 'hi', fallback_chain: [model] } });
  const { id } = (await res.json()) as { id: string };
  return id;
}

beforeAll(async () => {
  sys = await startSystem('bull-board-limits');
});
afterAll(async () => {
  await sys?.close();
});

describe('Bull Board and the live limit state', () => {
  it('a queue that just ran a few jobs under its limits shows no rate limit, and its live counts', async () => {
    const ids = await Promise.all([runTask('gpt-test'), runTask('gpt-test'), runTask('gpt-test')]);
    for (const id of ids) {
      const done = (await (await sys.call(`/v1/tasks/${id}?wait=30`)).json()) as { status: string };
      expect(done.status).toBe('succeeded');
    }
    const q = await boardQueue('gpt-test');
    expect(q.counts.completed).toBe(3);
    expect(q.activeRateLimitTtl).toBe(0);
    expect(q.description).toMatch(/^in flight 0\/50 · 3\/6000 requests · \d+ tokens per 61 s window$/);
    expect(await modelLimits('gpt-test')).toMatchObject({
      slots_in_use: 0,
      requests_in_window: 3,
      rpm: 6000,
      paused_until: null,
      limited: false,
    });
    expect(await limitedGauge('gpt-test')).toBe(0);
    // BullMQ's own limiter key, which other tools read too, is not left armed by the jobs fetched: the workers'
    // placeholder limiter lets it live 1 ms.
    const redis = new Redis(sys.redisUrl);
    try {
      expect(await redis.pttl(`${sys.prefix}:{gpt-test}:limiter`)).toBeLessThanOrEqual(1);
    } finally {
      redis.disconnect();
    }
  });

  it('a model paused by a 429 shows as rate limited, with its pause, everywhere', async () => {
    // The provider asks for 30 s: the whole queue of claude-test waits that long (capped by max_retry_after).
    sys.fake.script('claude-test', [{ type: 'error', status: 429, headers: { 'retry-after': '30' } }]);
    await runTask('claude-test');
    await expect
      .poll(async () => (await boardQueue('claude-test')).activeRateLimitTtl, { timeout: 15_000 })
      .toBeGreaterThan(20_000);
    const q = await boardQueue('claude-test');
    expect(q.description).toMatch(/^LIMITED · in flight 0\/50 · 1\/6000 requests · .* · paused (2\d|30) s$/);
    const limits = await modelLimits('claude-test');
    expect(limits?.limited).toBe(true);
    const until = Date.parse(limits?.paused_until ?? '');
    expect(until - Date.now()).toBeGreaterThan(20_000);
    expect(until - Date.now()).toBeLessThanOrEqual(31_000);
    expect(await limitedGauge('claude-test')).toBe(1);
    // The other models are not limited by it.
    expect((await boardQueue('gpt-test')).activeRateLimitTtl).toBe(0);
  });
});
