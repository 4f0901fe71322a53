import { unavailableDependency } from '@orchex/core';
import { faults } from '@orchex/providers/fake';
import { BudgetLedger, createRedis, queueName, type RedisClient } from '@orchex/queue';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PrivateRedisCluster, startRedisCluster } from '../support/private-redis-cluster.ts';
import { type QueueJobs, queueJobs } from '../support/queue-jobs.ts';
import { startSystem, TEST_ADMIN_KEY, type TestSystem } from '../support/start-system.ts';
import { submit, submitAndWait, type TaskJson, waitFor } from '../support/task-client.ts';
import { testConfigSource } from '../support/test-config.ts';
import { spawnWorker, type WorkerProcess } from '../support/worker-process.ts';

// Everything orchex keeps in Redis, on a Redis Cluster of three masters started here from the redis-server binary.
// One cluster for the whole file (ports 7141–7143, buses 17141–17143); each describe has its own system (database,
// prefix). Models are chosen so their queues' hash tags land on different masters, which the tests check first.

const SMALL = { provider: 'anthropic', input_cost_per_1k: 0.001, output_cost_per_1k: 0.002, max_tokens: 8_000 };

let cluster: PrivateRedisCluster;
const clusterSetting = () => ({ nodes: cluster.nodes });

beforeAll(async () => {
  cluster = await startRedisCluster({ basePort: 7141, masters: 3 });
}, 120_000);
afterAll(async () => cluster?.stop());

/** ~`words` words in numbered sentences, so chunks differ. */
function document(words: number): string {
  const paras: string[] = [];
  for (let n = 0; n < words; ) {
    const sentences: string[] = [];
    for (let s = 0; s < 8; s++, n += 10) sentences.push(`Sentence ${n} is about entanglement and its effects.`);
    paras.push(sentences.join(' '));
  }
  return paras.join('\n\n');
}

it('a redirection that reaches the caller (MOVED: the slot map is mid-failover) counts as Redis unavailable', async () => {
  // A plain client asks a master for a key of another master's slot: the real ReplyError a stale slot map gets.
  const owner = await cluster.masterOf('{gpt-test}');
  const other = cluster.nodes.map((n) => Number(n.split(':')[1])).find((p) => p !== owner);
  const plain = new Redis(`redis://127.0.0.1:${other}`);
  try {
    const err = await plain.get('x{gpt-test}').catch((e: unknown) => e);
    expect(String(err)).toMatch(/^ReplyError: MOVED \d+ /);
    expect(unavailableDependency(err)).toBe('redis');
  } finally {
    plain.disconnect();
  }
});

describe('the path of a task on a Redis Cluster (API and workers in this process)', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem('cluster_path', {
      redisUrl: cluster.url,
      redisCluster: clusterSetting(),
      configSource: testConfigSource({
        long_context: { map_max_tokens: 200 },
        models: {
          'small-test': { ...SMALL, model_id: 'small-test', rpm: 6000, max_concurrency: 50 },
          'mini-test': { ...SMALL, model_id: 'mini-test', rpm: 6000, max_concurrency: 50 },
        },
      }),
      workers: { concurrency: 16 },
    });
  }, 60_000);
  afterAll(async () => sys?.close());

  it('model queues spread over the masters: claude-test, gpt-test and gemini-test each on its own', async () => {
    const masters = await Promise.all(
      ['claude-test', 'gpt-test', 'gemini-test'].map((m) => cluster.masterOf(`{${m}}`)),
    );
    expect(new Set(masters).size).toBe(3);
  });

  it('one task per model on different masters: answered, recorded, and the job lives on its model’s master', async () => {
    for (const [taskType, model] of [
      ['code', 'claude-test'],
      ['research', 'gpt-test'],
    ] as const) {
      const t = await submitAndWait(sys, { prompt: `Explain entanglement (${taskType})`, task_type: taskType });
      expect(t.status).toBe('succeeded');
      expect(t.model).toBe(model);
      expect(t.content).toContain(`fake answer from ${model}`);
      expect(t.attempts).toHaveLength(1);
      // The queue's keys are on the master that owns the model's hash tag, and on no other.
      const meta = `${sys.prefix}:${queueName(model)}:meta`;
      const owner = await cluster.masterOf(`{${model}}`);
      expect((await cluster.cli(owner, 'EXISTS', meta)).trim()).toBe('1');
    }
  });

  it('a re-route crosses masters (claude-test → gpt-test) and the answer comes from the fallback', async () => {
    sys.fake.script('claude-test', [faults.contentFilter()]);
    const t = await submitAndWait(sys, { prompt: 'Write a function', task_type: 'code' });
    expect(t.status).toBe('succeeded');
    expect(t.model).toBe('gpt-test');
    expect(t.attempts.map((a) => [a.model, a.outcome])).toEqual([
      ['claude-test', 'failed'],
      ['gpt-test', 'succeeded'],
    ]);
  });

  it('a batch over four models completes with every task succeeded', async () => {
    const types = ['code', 'research', 'simple', 'long_context'];
    const res = await sys.call('/v1/batches', {
      method: 'POST',
      json: { tasks: Array.from({ length: 80 }, (_, i) => ({ prompt: `t${i}`, task_type: types[i % 4] })) },
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const deadline = Date.now() + 60_000;
    let b: { status: string; counts: Record<string, number>; finished_at: string | null };
    do {
      await new Promise((r) => setTimeout(r, 200));
      b = (await (await sys.call(`/v1/batches/${id}`)).json()) as typeof b;
    } while (!b.finished_at && Date.now() < deadline);
    expect(b.status).toBe('completed');
    expect(b.counts).toMatchObject({ succeeded: 80, failed: 0, queued: 0, running: 0 });
    const models = await sys.database.db.execute<{ model: string; n: number }>(
      sql`select model, count(*)::int as n from attempts group by model`,
    );
    expect(models.rows.filter((r) => r.n > 0).length).toBeGreaterThanOrEqual(4);
  });

  it('a long-context flow: map parts and reduce as one BullMQ flow; a part re-routed to another master still joins the reduce', async () => {
    expect(await cluster.masterOf('{small-test}')).not.toBe(await cluster.masterOf('{mini-test}'));
    // The first map call is refused for good on small-test: that part moves to mini-test's queue on another master,
    // outside the flow (a flow cannot span hash tags), and the reduce waits for it in Postgres.
    sys.fake.script('small-test', [faults.contentFilter()]);
    const res = await sys.call('/v1/tasks', {
      method: 'POST',
      json: {
        prompt: 'Summarise what the document says',
        context: document(30_000),
        fallback_chain: ['small-test', 'mini-test'],
        max_tokens: 300,
      },
    });
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as { id: string; parts: number };
    expect(accepted.parts).toBeGreaterThan(3);
    const t = (await waitFor(sys, accepted.id, 90_000)) as TaskJson & {
      parts: Array<{ id: string; kind: string; status: string }>;
    };
    expect(t.status).toBe('succeeded');
    expect(t.parts.every((p) => p.status === 'succeeded')).toBe(true);
    expect(t.content).toMatch(/^fake answer from small-test: A long document was read in/);
    const rerouted = await sys.database.db.execute<{ n: number }>(
      sql`select count(*)::int as n from attempts a join tasks p on p.id = a.task_id
          where p.parent_task_id = ${accepted.id}::uuid and a.model = 'mini-test' and a.outcome = 'succeeded'`,
    );
    expect(rerouted.rows[0]?.n).toBe(1);
  }, 120_000);

  it('a streamed answer goes worker → Redis Stream → SSE on the cluster', async () => {
    sys.fake.script('claude-test', [{ type: 'ok', text: 'one two three four', chunkDelayMs: 20 }]);
    const res = await sys.call('/v1/chat/completions', {
      method: 'POST',
      json: { model: 'claude-test', messages: [{ role: 'user', content: 'count' }], stream: true },
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    const deltas = text
      .split('\n')
      .filter((l) => l.startsWith('data: {'))
      .map((l) => (JSON.parse(l.slice(6)) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta);
    expect(deltas.map((d) => d?.content ?? '').join('')).toBe('one two three four');
  });

  it('the result cache answers a repeated task from the cluster, with no second provider call', async () => {
    const body = { prompt: 'What is a qubit? (cluster cache)', fallback_chain: ['gemini-test'], cache: true };
    const first = await submitAndWait(sys, body);
    expect(first.status).toBe('succeeded');
    const calls = sys.fake.log.length;
    const second = (await submitAndWait(sys, body)) as TaskJson & { cached?: boolean; saved_cost?: number };
    expect(second).toMatchObject({ status: 'succeeded', cached: true, cost: 0, content: first.content });
    expect(second.saved_cost).toBe(first.cost);
    expect(sys.fake.log.length).toBe(calls);
  });

  it('measured latency and health are kept on the cluster and shown by GET /v1/models', async () => {
    // The tasks above recorded claude-test's calls under its hash tag; the API reads them back.
    let health: Record<string, unknown> | undefined;
    for (let i = 0; i < 20 && !(health?.measured === true); i++) {
      await new Promise((r) => setTimeout(r, 250));
      const res = await sys.call('/v1/models');
      const models = (await res.json()) as {
        data: Array<{ id: string; orchex: { health?: Record<string, unknown> } }>;
      };
      health = models.data.find((m) => m.id === 'claude-test')?.orchex.health;
    }
    expect(health).toMatchObject({ healthy: true, measured: true, circuit: 'closed' });
    expect(health?.recent_calls as number).toBeGreaterThan(0);
    const owner = await cluster.masterOf('{claude-test}');
    expect((await cluster.cli(owner, 'EXISTS', `${sys.prefix}:signals:{claude-test}:outcomes`)).trim()).toBe('1');
  });

  it('Bull Board lists every model queue, read from the cluster', async () => {
    const basic = `Basic ${Buffer.from(`admin:${TEST_ADMIN_KEY}`).toString('base64')}`;
    const res = await fetch(`${sys.url}/admin/queues/api/queues`, { headers: { authorization: basic } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { queues: Array<{ name: string; counts: Record<string, number> }> };
    const claude = body.queues.find((q) => q.name === '{claude-test}');
    expect(claude?.counts.completed).toBeGreaterThan(0);
    expect(body.queues).toHaveLength(Object.keys(sys.config.models).length);
  });
});

// Limits and the budget across worker processes, each its own ioredis Cluster client (ORCHEX_REDIS_CLUSTER=1 read
// from the environment, as in production).
const WINDOW_MS = 3000;
const RPM = 6;
const IN_FLIGHT = 2;
const PROMPT = 'word '.repeat(100);
const MAX_TOKENS = 200;
// claude-test: 3 / 15 µ$ per token. A hold is 138 × 3 + 200 × 15 = 3,414 µ$; a call costs 100 × 3 + 200 × 15.
const HOLD = 138 * 3 + MAX_TOKENS * 15;
const COST = 100 * 3 + MAX_TOKENS * 15;
const LIMIT_MICROS = 12 * HOLD; // room for 12 holds at once

/** Most entries whose start falls in one window [t, t + WINDOW_MS). */
function worstWindow(starts: number[]): number {
  const s = [...starts].sort((a, b) => a - b);
  let worst = 0;
  for (let i = 0; i < s.length; i++)
    worst = Math.max(worst, s.filter((t) => t >= s[i]! && t < s[i]! + WINDOW_MS).length);
  return worst;
}

describe('rate limit and budget across two worker processes on the cluster', () => {
  let sys: TestSystem;
  let workers: WorkerProcess[] = [];
  let jobs: QueueJobs;
  let redis: RedisClient;
  beforeAll(async () => {
    sys = await startSystem('cluster_procs', {
      redisUrl: cluster.url,
      redisCluster: clusterSetting(),
      workers: false,
      configSource: testConfigSource({
        cost_limits: { max_daily_cost: LIMIT_MICROS / 1e6 },
        models: {
          'llama-test': { rpm: RPM, max_concurrency: IN_FLIGHT },
          'claude-test': { max_concurrency: 200 },
        },
      }),
    });
    sys.fake.setDefault('llama-test', { type: 'ok', latencyMs: 300 });
    sys.fake.setDefault('claude-test', { type: 'ok', latencyMs: 800, usage: { input: 100, output: MAX_TOKENS } });
    workers = [0, 1].map(() =>
      spawnWorker({ ...sys.env, ORCHEX_LIMIT_WINDOW_MS: String(WINDOW_MS) }, [
        '--queues',
        'llama-test,claude-test',
        '--concurrency',
        '10',
      ]),
    );
    await Promise.all(workers.map((w) => w.ready));
    jobs = queueJobs(sys.redisUrl, sys.prefix, clusterSetting());
    // BullMQ's own global concurrency far above the caps: only orchex's limiter and budget may hold them.
    for (const m of ['llama-test', 'claude-test']) await jobs.queue(m).setGlobalConcurrency(1000);
    redis = createRedis(sys.redisUrl, 'cluster-test', { cluster: clusterSetting() });
  }, 90_000);
  afterAll(async () => {
    for (const w of workers) w.proc.kill('SIGKILL');
    redis?.disconnect();
    await jobs?.close();
    await sys?.close();
  });

  it('the queues under test live on different masters', async () => {
    expect(await cluster.masterOf('{llama-test}')).not.toBe(await cluster.masterOf('{claude-test}'));
  });

  it(`rpm ${RPM} per window and ${IN_FLIGHT} in flight hold across both processes`, async () => {
    const ids = await Promise.all(
      Array.from({ length: 14 }, (_, i) => submit(sys, { prompt: `q${i}`, fallback_chain: ['llama-test'] })),
    );
    const tasks = await Promise.all(ids.map((id) => waitFor(sys, id, 60_000)));
    expect(tasks.every((t) => t.status === 'succeeded')).toBe(true);
    const calls = sys.fake.log.filter((l) => l.model === 'llama-test');
    expect(calls).toHaveLength(14);
    expect(worstWindow(calls.map((c) => c.startedAt))).toBeLessThanOrEqual(RPM);
    expect(sys.fake.peakInFlight('llama-test')).toBeLessThanOrEqual(IN_FLIGHT);
    const ran = workers.map(
      (w) =>
        w.logLines().filter((l) => l.msg === 'attempt' && l.model === 'llama-test' && l.outcome === 'succeeded').length,
    );
    expect(ran.every((n) => n > 0)).toBe(true);
  }, 90_000);

  it('60 tasks released at once against a budget for 12 holds: spend + holds never pass the limit', async () => {
    const ledger = new BudgetLedger(redis, { prefix: sys.prefix });
    const keys = ledger.keys(await ledger.today());
    const q = jobs.queue('claude-test');
    await q.pause();
    const ids = await Promise.all(
      Array.from({ length: 60 }, () =>
        submit(sys, { prompt: PROMPT, fallback_chain: ['claude-test'], max_tokens: MAX_TOKENS }),
      ),
    );
    let watching = true;
    let worst = 0;
    let mostHeld = 0;
    let reads = 0;
    const watch = (async () => {
      while (watching) {
        // spent and reserved share the day's hash tag, so one MULTI reads them atomically on one master.
        const res = (await redis.multi().get(keys.spent).get(keys.reserved).exec()) ?? [];
        const [spent, reserved] = res.map(([err, v]) => {
          if (err) throw err;
          return Number(v ?? 0);
        });
        worst = Math.max(worst, (spent ?? 0) + (reserved ?? 0));
        mostHeld = Math.max(mostHeld, reserved ?? 0);
        reads++;
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await q.resume();
    let tasks: TaskJson[];
    try {
      tasks = await Promise.all(ids.map((id) => waitFor(sys, id, 90_000)));
    } finally {
      watching = false;
      await watch;
    }
    const succeeded = tasks.filter((t) => t.status === 'succeeded');
    const refused = tasks.filter((t) => t.status === 'failed' && t.error?.kind === 'budget_exceeded');
    expect(succeeded.length + refused.length).toBe(60);
    expect(refused.every((t) => t.attempts.length === 0)).toBe(true);
    expect(reads).toBeGreaterThan(10);
    expect(worst).toBeLessThanOrEqual(LIMIT_MICROS);
    expect(mostHeld).toBeGreaterThanOrEqual(2 * HOLD); // the holds raced: several were live at once
    // 12 holds fit at once; a few more once some have settled at their (lower) cost.
    expect(succeeded.length).toBeGreaterThanOrEqual(12);
    expect(succeeded.length * COST).toBeLessThanOrEqual(LIMIT_MICROS);
    const spent = await sys.database.db.execute<{ micros: string }>(
      sql`select coalesce(sum(cost_micros), 0) as micros from attempts where model = 'claude-test'`,
    );
    expect(Number(spent.rows[0]?.micros)).toBe(succeeded.length * COST);
    expect(sys.fake.log.filter((l) => l.model === 'claude-test')).toHaveLength(succeeded.length);
  }, 120_000);
});
