import { randomUUID } from 'node:crypto';
import { outputLimit } from '@orchex/core';
import { resultCacheKey } from '@orchex/queue';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OTHER_API_KEY, startSystem, TEST_API_KEY, type TestSystem } from '../../../test/support/start-system.ts';
import type { TaskJson } from '../../../test/support/task-client.ts';
import { testConfigSource } from '../../../test/support/test-config.ts';
import { spawnWorker } from '../../../test/support/worker-process.ts';
import { loadKeyId } from '../src/key-id-secret.ts';

/** The task JSON with the cache's fields. */
type CachedTaskJson = TaskJson & { cached: boolean; saved_cost: number; finish_reason: string | null };

interface ReportJson {
  total_cost: number;
  total_requests: number;
  cache_hits: number;
  saved_by_cache: number;
  groups: Array<{ key: string | null; cache_hits: number; saved_by_cache: number; requests: number }>;
}

async function submit(sys: TestSystem, body: Record<string, unknown>, key = TEST_API_KEY): Promise<string> {
  const res = await sys.call('/v1/tasks', { method: 'POST', json: body, key });
  expect(res.status, await res.clone().text()).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

async function waitFor(sys: TestSystem, id: string, key = TEST_API_KEY): Promise<CachedTaskJson> {
  for (let i = 0; i < 12; i++) {
    const task = (await (await sys.call(`/v1/tasks/${id}?wait=10`, { key })).json()) as CachedTaskJson;
    if (['succeeded', 'failed', 'cancelled'].includes(task.status)) return task;
  }
  throw new Error(`task ${id} did not finish`);
}

const run = async (sys: TestSystem, body: Record<string, unknown>, key = TEST_API_KEY) =>
  waitFor(sys, await submit(sys, body, key), key);

/** Calls the fake provider received whose conversation contains `marker` (a unique word per test). */
const callsWith = (sys: TestSystem, marker: string) =>
  sys.fake.log.filter((l) => JSON.stringify(l.messages).includes(marker)).length;

const unique = (what: string) => `${what} ${randomUUID()}`;

describe('result cache', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    const source = testConfigSource({
      routing_rules: { faq: { primary: 'claude-test', fallback: [], cache: true } },
    });
    sys = await startSystem('result-cache', { configSource: { ...source, cache: { ttl: 600 } } });
  }, 60_000);
  afterAll(async () => sys?.close());

  it('the same task twice: the second is cached, $0, the saving recorded, no provider call', async () => {
    const prompt = unique('What is the capital of France?');
    const body = { prompt, fallback_chain: ['claude-test'], cache: true, max_tokens: 100 };
    const first = await run(sys, body);
    expect(first).toMatchObject({ status: 'succeeded', cached: false, saved_cost: 0 });
    expect(first.cost).toBeGreaterThan(0);
    const second = await run(sys, body);
    expect(second).toMatchObject({
      status: 'succeeded',
      cached: true,
      cost: 0,
      saved_cost: first.cost,
      content: first.content,
      model: 'claude-test',
      usage: first.usage,
    });
    expect(second.attempts).toEqual([]); // no model call, so no attempt
    expect(callsWith(sys, prompt)).toBe(1);
  });

  it('50 identical tasks at once make 1 provider call; the other 49 wait for it and are served from the cache', async () => {
    const prompt = unique('Summarise the plot of Hamlet.');
    sys.fake.script('gpt-test', [{ type: 'ok', text: 'To be or not to be.', latencyMs: 800 }]);
    const body = { prompt, fallback_chain: ['gpt-test'], cache: 300, max_tokens: 50 };
    const ids = await Promise.all(Array.from({ length: 50 }, () => submit(sys, body)));
    const tasks = await Promise.all(ids.map((id) => waitFor(sys, id)));
    expect(tasks.every((t) => t.status === 'succeeded' && t.content === 'To be or not to be.')).toBe(true);
    expect(callsWith(sys, prompt)).toBe(1);
    const paid = tasks.filter((t) => !t.cached);
    expect(paid).toHaveLength(1);
    const saved = tasks.filter((t) => t.cached);
    expect(saved).toHaveLength(49);
    for (const t of saved) expect(t).toMatchObject({ cost: 0, saved_cost: paid[0]?.cost });
  });

  it('the cost report and the analysis show the hits and what they saved', async () => {
    const report = async () => (await (await sys.call('/v1/costs/report?group_by=task_type')).json()) as ReportJson;
    const analysis = async () =>
      (await (await sys.call('/v1/costs/analysis')).json()) as { cache_hits: number; saved_by_cache: number };
    const before = await report();
    const analysisBefore = await analysis();
    const prompt = unique('Name three prime numbers.');
    const body = { prompt, fallback_chain: ['claude-test'], cache: true, task_type: 'code', max_tokens: 80 };
    const first = await run(sys, body);
    for (let i = 0; i < 3; i++) expect((await run(sys, body)).cached).toBe(true);
    const after = await report();
    expect(after.cache_hits - before.cache_hits).toBe(3);
    expect(after.saved_by_cache - before.saved_by_cache).toBeCloseTo(3 * first.cost, 6);
    // Hits are not requests: only the first task's call was one, and only it cost anything.
    expect(after.total_requests - before.total_requests).toBe(1);
    expect(after.total_cost - before.total_cost).toBeCloseTo(first.cost, 6);
    const code = (r: ReportJson) => r.groups.find((g) => g.key === 'code') ?? { cache_hits: 0, saved_by_cache: 0 };
    expect(code(after).cache_hits - code(before).cache_hits).toBe(3);
    const analysisAfter = await analysis();
    expect(analysisAfter.cache_hits - analysisBefore.cache_hits).toBe(3);
    expect(analysisAfter.saved_by_cache - analysisBefore.saved_by_cache).toBeCloseTo(3 * first.cost, 6);
    // The report's figures are the tasks' own: hits and savings summed from the tasks table agree.
    const { rows } = await sys.database.db.execute<{ hits: string; saved: string }>(sql`
      select count(*) filter (where cached) as hits, coalesce(sum(saved_cost_micros), 0) as saved from tasks`);
    const admin = (await (await sys.call('/v1/costs/report', { key: 'test-admin-key-0000001' })).json()) as ReportJson;
    expect(admin.cache_hits).toBe(Number(rows[0]?.hits));
    expect(admin.saved_by_cache).toBeCloseTo(Number(rows[0]?.saved) / 1e6, 6);
  });

  it('an entry expires after its TTL: the next identical task calls the model again', async () => {
    const prompt = unique('Translate good morning to Italian.');
    // 3 s: long enough for the second task to run well inside it on a loaded machine.
    const body = { prompt, fallback_chain: ['claude-test'], cache: 3, max_tokens: 40 };
    const stored = Date.now();
    expect((await run(sys, body)).cached).toBe(false);
    expect((await run(sys, body)).cached).toBe(true);
    expect(callsWith(sys, prompt)).toBe(1);
    await new Promise((r) => setTimeout(r, Math.max(0, stored + 3300 - Date.now())));
    expect((await run(sys, body)).cached).toBe(false);
    expect(callsWith(sys, prompt)).toBe(2);
  });

  it('different API keys do not share entries (cache.shared is false)', async () => {
    const prompt = unique('List the planets.');
    const body = { prompt, fallback_chain: ['claude-test'], cache: true, max_tokens: 60 };
    expect((await run(sys, body, TEST_API_KEY)).cached).toBe(false);
    expect((await run(sys, body, OTHER_API_KEY)).cached).toBe(false);
    expect(callsWith(sys, prompt)).toBe(2);
    expect((await run(sys, body, OTHER_API_KEY)).cached).toBe(true);
    expect((await run(sys, body, TEST_API_KEY)).cached).toBe(true);
    expect(callsWith(sys, prompt)).toBe(2);
  });

  it('anything that shapes the answer is part of the key: another model, system, max_tokens or stop is a miss', async () => {
    const prompt = unique('Describe a sunset.');
    const base = { prompt, fallback_chain: ['claude-test'], cache: true, max_tokens: 60 };
    expect((await run(sys, base)).cached).toBe(false);
    for (const change of [
      { fallback_chain: ['gpt-test'] },
      { system: 'Answer in French.' },
      { max_tokens: 61 },
      { stop: ['END'] },
      { temperature: 0.5 },
    ]) {
      expect((await run(sys, { ...base, ...change })).cached, JSON.stringify(change)).toBe(false);
    }
    expect((await run(sys, base)).cached).toBe(true);
  });

  it("a rule's cache applies to tasks with temperature unset or 0 only; a task's own cache applies at any temperature", async () => {
    const prompt = unique('How do I reset my password?');
    const rule = { prompt, task_type: 'faq', max_tokens: 60 };
    expect((await run(sys, rule)).cached).toBe(false);
    expect((await run(sys, rule)).cached).toBe(true);
    expect((await run(sys, { ...rule, temperature: 0 })).cached).toBe(false); // temperature is in the key
    expect((await run(sys, { ...rule, temperature: 0 })).cached).toBe(true);
    const warm = { ...rule, temperature: 0.8 };
    expect((await run(sys, warm)).cached).toBe(false);
    expect((await run(sys, warm)).cached).toBe(false); // the rule does not cache sampled answers
    expect((await run(sys, { ...warm, cache: true })).cached).toBe(false);
    expect((await run(sys, { ...warm, cache: true })).cached).toBe(true); // the task says so
    expect((await run(sys, { ...rule, cache: false })).cached).toBe(false); // and may refuse the rule's cache
    // Tasks without a cache setting under a rule without one are never cached.
    const plain = { prompt: unique('Tell me a joke.'), fallback_chain: ['claude-test'], max_tokens: 40 };
    expect((await run(sys, plain)).cached).toBe(false);
    expect((await run(sys, plain)).cached).toBe(false);
  });

  it('a streamed task that hits gets the whole answer as one delta, then the end', async () => {
    const prompt = unique('Stream a haiku about rain.');
    sys.fake.script('claude-test', [{ type: 'ok', text: 'soft rain on the roof', chunkDelayMs: 20 }]);
    const body = { prompt, fallback_chain: ['claude-test'], cache: true, stream: true, max_tokens: 40 };
    expect((await run(sys, body)).cached).toBe(false);
    const id = await submit(sys, body);
    const r = await sys.call(`/v1/tasks/${id}/events`);
    const events = (await r.text())
      .split('\n\n')
      .filter(Boolean)
      .map((block) => {
        const lines = Object.fromEntries(
          block.split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]),
        );
        return lines as { event: string; data: string };
      });
    const deltas = events.filter((e) => e.event === 'delta').map((e) => (JSON.parse(e.data) as { text: string }).text);
    expect(deltas).toEqual(['soft rain on the roof']);
    expect(events.at(-1)?.event).toBe('end');
    expect(JSON.parse(events.at(-1)?.data ?? '{}')).toMatchObject({ status: 'succeeded', cached: true, cost: 0 });
    expect(callsWith(sys, prompt)).toBe(1);
  });

  it('a filler whose call fails lets go of the key: a waiting identical task calls instead, and the rest are served', async () => {
    const prompt = unique('Give me a fun fact about octopuses.');
    sys.fake.script('gemini-test', [
      { type: 'error', status: 500, preset: 'server', latencyMs: 300 },
      { type: 'ok', text: 'Octopuses have three hearts.', latencyMs: 300 },
    ]);
    const body = { prompt, fallback_chain: ['gemini-test'], cache: true, max_tokens: 40 };
    const ids = await Promise.all(Array.from({ length: 5 }, () => submit(sys, body)));
    const tasks = await Promise.all(ids.map((id) => waitFor(sys, id)));
    expect(tasks.every((t) => t.status === 'succeeded' && t.content === 'Octopuses have three hearts.')).toBe(true);
    expect(callsWith(sys, prompt)).toBe(2); // the failed call and the one answer
    expect(tasks.filter((t) => t.cached)).toHaveLength(4);
  });

  it('/v1/chat/completions takes cache as an extension field, and a batch task takes it too', async () => {
    const content = unique('What is 2 + 2?');
    const chat = async () => {
      const res = await sys.call('/v1/chat/completions', {
        method: 'POST',
        json: { model: 'claude-test', messages: [{ role: 'user', content }], cache: 120 },
      });
      expect(res.status, await res.clone().text()).toBe(200);
      return (await res.json()) as {
        choices: Array<{ message: { content: string } }>;
        orchex: { cached: boolean; cost: number; saved_cost: number };
      };
    };
    const a = await chat();
    const b = await chat();
    expect(b.choices[0]?.message.content).toBe(a.choices[0]?.message.content);
    expect(b.orchex).toMatchObject({ cached: true, cost: 0, saved_cost: a.orchex.cost });
    expect(a.orchex.cached).toBe(false);
    expect(callsWith(sys, content)).toBe(1);

    const prompt = unique('Batch question.');
    const batch = await sys.call('/v1/batches', {
      method: 'POST',
      json: { tasks: [{ prompt, fallback_chain: ['claude-test'], cache: true, max_tokens: 30 }] },
    });
    expect(batch.status, await batch.clone().text()).toBe(202);
    const { id: batchId } = (await batch.json()) as { id: string };
    for (let i = 0; i < 50; i++) {
      const b = (await (await sys.call(`/v1/batches/${batchId}`)).json()) as { status: string };
      if (b.status === 'completed') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const single = await run(sys, { prompt, fallback_chain: ['claude-test'], cache: true, max_tokens: 30 });
    expect(single.cached).toBe(true);
    expect(callsWith(sys, prompt)).toBe(1);
  });

  it('across worker processes: 30 identical tasks served by two processes make 1 call', async () => {
    const w = spawnWorker(sys.env, ['--queues', 'claude-test']);
    try {
      await w.ready;
      const prompt = unique('Across processes: explain TCP.');
      sys.fake.script('claude-test', [{ type: 'ok', text: 'Reliable ordered bytes.', latencyMs: 1000 }]);
      const body = { prompt, fallback_chain: ['claude-test'], cache: true, max_tokens: 50 };
      const ids = await Promise.all(Array.from({ length: 30 }, () => submit(sys, body)));
      const tasks = await Promise.all(ids.map((id) => waitFor(sys, id)));
      expect(tasks.every((t) => t.status === 'succeeded' && t.content === 'Reliable ordered bytes.')).toBe(true);
      expect(callsWith(sys, prompt)).toBe(1);
      expect(tasks.filter((t) => t.cached)).toHaveLength(29);
      // The other process did take part: it served some of them from the cache (or made the one call).
      const served = w.logLines().filter((l) => l.msg === 'attempt' && ids.includes(String(l.taskId)));
      expect(served.length).toBeGreaterThan(0);
      // Its log names no text.
      expect(w.output()).not.toContain('Reliable ordered bytes.');
      expect(w.output()).not.toContain(prompt);
    } finally {
      w.proc.kill('SIGTERM');
      await w.exited;
    }
  }, 60_000);

  it('a filler that died: its lock lapses after its lease and a waiting task fills the key itself', async () => {
    const prompt = unique('Orphaned lock: what is DNS?');
    const model = sys.config.models['claude-test'];
    if (!model) throw new Error('claude-test is configured');
    const keyId = (await loadKeyId(sys.database.db))(TEST_API_KEY);
    const hash = resultCacheKey({
      model: 'claude-test',
      modelId: model.model_id,
      messages: [{ role: 'user', content: prompt }],
      system: undefined,
      maxTokens: outputLimit(model, 50),
      temperature: undefined,
      topP: undefined,
      stop: undefined,
      scope: keyId,
    });
    // A filler that claimed the key and died: nobody will store an answer or let go; only the lease ends it.
    const redis = new Redis(sys.redisUrl);
    const locked = Date.now();
    expect(await redis.set(`${sys.prefix}:{cache}:lock:${hash}`, 'dead-worker', 'PX', 2500, 'NX')).toBe('OK');
    await redis.quit();
    const id = await submit(sys, { prompt, fallback_chain: ['claude-test'], cache: true, max_tokens: 50 });
    await new Promise((r) => setTimeout(r, Math.max(0, locked + 1200 - Date.now())));
    expect(callsWith(sys, prompt)).toBe(0); // waiting, not calling, while the lock is held
    const task = await waitFor(sys, id);
    expect(task).toMatchObject({ status: 'succeeded', cached: false });
    expect(Date.now() - locked).toBeGreaterThanOrEqual(2400);
    expect(callsWith(sys, prompt)).toBe(1);
    expect(task.attempts).toHaveLength(1); // the waits spent no retry and recorded no attempt
  });

  it('a streamed chat completion that hits streams the cached answer', async () => {
    const content = unique('Stream from cache: name a colour.');
    sys.fake.script('claude-test', [{ type: 'ok', text: 'Blue, like the sea.', chunkDelayMs: 10 }]);
    const chat = async () => {
      const res = await sys.call('/v1/chat/completions', {
        method: 'POST',
        json: { model: 'claude-test', messages: [{ role: 'user', content }], cache: true, stream: true },
      });
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toContain('data: [DONE]');
      return text
        .split('\n\n')
        .filter((b) => b.startsWith('data: {'))
        .map((b) => JSON.parse(b.slice(6)) as { choices: Array<{ delta: { content?: string } }> })
        .map((c) => c.choices[0]?.delta.content ?? '')
        .join('');
    };
    expect(await chat()).toBe('Blue, like the sea.');
    expect(await chat()).toBe('Blue, like the sea.');
    expect(callsWith(sys, content)).toBe(1);
  });

  it('an answer the provider filtered is not kept (the task fails) and the key is free for the next one', async () => {
    const prompt = unique('Filtered: something the provider will not answer.');
    sys.fake.script('claude-test', [{ type: 'ok', text: 'partial', finish: 'content_filter' }]);
    const body = { prompt, fallback_chain: ['claude-test'], cache: true, max_tokens: 40 };
    const first = await run(sys, body);
    expect([first.status, first.error?.kind]).toEqual(['failed', 'content_filter']);
    expect((await run(sys, body)).cached).toBe(false);
    expect(callsWith(sys, prompt)).toBe(2);
  });

  it('refuses a malformed cache setting, naming the field', async () => {
    for (const cache of [0, -5, 1.5, 'yes', 30 * 24 * 3600 + 1, null]) {
      const res = await sys.call('/v1/tasks', { method: 'POST', json: { prompt: 'x', cache } });
      expect(res.status, JSON.stringify(cache)).toBe(400);
      expect(await res.text()).toContain('cache');
    }
  });

  it('keeps no prompt or answer text in its Redis keys', async () => {
    const prompt = unique('Secretword-zebra what is it?');
    await run(sys, { prompt, fallback_chain: ['claude-test'], cache: true, max_tokens: 30 });
    const redis = new Redis(sys.redisUrl);
    const keys = await redis.keys(`${sys.prefix}:{cache}:*`);
    await redis.quit();
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.some((k) => k.includes('zebra'))).toBe(false);
  });
});

describe('result cache: shared across keys, size and count caps', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    const source = testConfigSource();
    sys = await startSystem('result-cache-shared', {
      configSource: { ...source, cache: { shared: true, max_entry_bytes: 1024, max_entries: 2, max_bytes: 1500 } },
    });
  }, 60_000);
  afterAll(async () => sys?.close());

  it('with cache.shared, one key is served what another key paid for', async () => {
    const prompt = unique('Shared: what is HTTP?');
    const body = { prompt, fallback_chain: ['claude-test'], cache: true, max_tokens: 40 };
    const first = await run(sys, body, TEST_API_KEY);
    const other = await run(sys, body, OTHER_API_KEY);
    expect(other).toMatchObject({ cached: true, cost: 0, saved_cost: first.cost });
    expect(callsWith(sys, prompt)).toBe(1);
  });

  it('an answer over max_entry_bytes is not stored', async () => {
    const prompt = unique('Write a long essay.');
    sys.fake.script('claude-test', [
      { type: 'ok', text: 'x'.repeat(2000) },
      { type: 'ok', text: 'x'.repeat(2000) },
    ]);
    const body = { prompt, fallback_chain: ['claude-test'], cache: true, max_tokens: 1000 };
    expect((await run(sys, body)).cached).toBe(false);
    expect((await run(sys, body)).cached).toBe(false);
    expect(callsWith(sys, prompt)).toBe(2);
  });

  it('beyond max_entries the oldest entries are evicted', async () => {
    const prompts = [unique('One?'), unique('Two?'), unique('Three?')];
    const body = (prompt: string) => ({ prompt, fallback_chain: ['claude-test'], cache: true, max_tokens: 20 });
    for (const p of prompts) expect((await run(sys, body(p))).cached).toBe(false);
    expect((await run(sys, body(prompts[2] as string))).cached).toBe(true);
    expect((await run(sys, body(prompts[1] as string))).cached).toBe(true);
    expect((await run(sys, body(prompts[0] as string))).cached).toBe(false); // evicted by the third
    const redis = new Redis(sys.redisUrl);
    expect(await redis.zcard(`${sys.prefix}:{cache}:index`)).toBe(2);
    await redis.quit();
  });

  it('beyond max_bytes the oldest entries are evicted, however few there are', async () => {
    const [a, b] = [unique('Bytes A?'), unique('Bytes B?')];
    sys.fake.script('claude-test', [
      { type: 'ok', text: 'a'.repeat(700) },
      { type: 'ok', text: 'b'.repeat(700) },
    ]);
    const body = (prompt: string) => ({ prompt, fallback_chain: ['claude-test'], cache: true, max_tokens: 1000 });
    expect((await run(sys, body(a))).cached).toBe(false);
    expect((await run(sys, body(b))).cached).toBe(false);
    // Two entries of ~850 bytes: under max_entries (2), over max_bytes (1500) — A, the older, went.
    expect((await run(sys, body(b))).cached).toBe(true);
    expect((await run(sys, body(a))).cached).toBe(false);
    const redis = new Redis(sys.redisUrl);
    expect(Number(await redis.get(`${sys.prefix}:{cache}:bytes`))).toBeLessThanOrEqual(1500);
    await redis.quit();
  });
});
