import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PrivateRedisCluster, startRedisCluster } from '../support/private-redis-cluster.ts';
import { startSystem, TEST_ADMIN_KEY, type TestSystem } from '../support/start-system.ts';
import { type TaskJson, waitFor } from '../support/task-client.ts';
import { testConfigSource } from '../support/test-config.ts';
import { spawnWorker, type WorkerProcess } from '../support/worker-process.ts';

// A Redis Cluster of three masters with one replica each (ports 7151–7156). While tasks run, the master holding
// claude-test's queue is killed (kill -9), then the master holding today's budget if that is another one; each time
// its replica takes over. The invariant: every accepted task ends, exactly one successful attempt per success, every
// call is recorded and paid once, and the day's spend stays within the limit — in Postgres and in the ledger.

const PROMPT = 'word '.repeat(100);
const MAX_TOKENS = 200;
// claude-test: 3 / 15 µ$ per token; a hold is 138 × 3 + 200 × 15, a call costs 100 × 3 + 200 × 15.
const HOLD = 138 * 3 + MAX_TOKENS * 15;
const COST = 100 * 3 + MAX_TOKENS * 15;
const LIMIT_MICROS = 80 * HOLD;
const SUBMITS = 140;

describe('Redis Cluster failover mid-run (3 masters + 3 replicas, 2 worker processes)', () => {
  let cluster: PrivateRedisCluster;
  let sys: TestSystem;
  let workers: WorkerProcess[] = [];
  beforeAll(async () => {
    cluster = await startRedisCluster({ basePort: 7151, masters: 3, replicas: 1, nodeTimeoutMs: 1500 });
    sys = await startSystem('cluster_failover', {
      redisUrl: cluster.url,
      redisCluster: { nodes: cluster.nodes },
      workers: false,
      configSource: testConfigSource({
        cost_limits: { max_daily_cost: LIMIT_MICROS / 1e6 },
        models: { 'claude-test': { max_concurrency: 200 } },
      }),
    });
    sys.fake.setDefault('claude-test', { type: 'ok', latencyMs: 400, usage: { input: 100, output: MAX_TOKENS } });
    workers = [0, 1].map(() =>
      spawnWorker(
        {
          ...sys.env,
          // Budget writes wait for the replica, so the promoted one has every hold and every settled cost.
          ORCHEX_REDIS_REPLICA_ACKS: '1',
          // Short enough for a test: a lost job's task is re-added by the sweep, a lost lock recovered by stall check.
          ORCHEX_SWEEP_INTERVAL_MS: '2000',
          ORCHEX_LOCK_MS: '5000',
        },
        ['--queues', 'claude-test', '--concurrency', '20'],
      ),
    );
    await Promise.all(workers.map((w) => w.ready));
  }, 120_000);
  afterAll(async () => {
    for (const w of workers) w.proc.kill('SIGKILL');
    await sys?.close();
    await cluster?.stop();
  });

  it('every accepted task ends once, nothing is paid twice, and the budget holds across two failovers', async () => {
    const t0 = Date.now();
    const mark = (what: string) => console.info(`${((Date.now() - t0) / 1000).toFixed(1)} s ${what}`);
    const queueMaster = await cluster.masterOf('{claude-test}');
    const day = new Date().toISOString().slice(0, 10);
    const budgetMaster = await cluster.masterOf(`{${day}}`);
    const accepted: string[] = [];
    let refusedAtDoor = 0;
    // Submissions keep coming through the failovers (~20/s); a 503 while a master is away is "not accepted".
    const submitting = (async () => {
      for (let i = 0; i < SUBMITS; i++) {
        const res = await sys.call('/v1/tasks', {
          method: 'POST',
          json: { prompt: `${PROMPT}#${i}`, fallback_chain: ['claude-test'], max_tokens: MAX_TOKENS },
        });
        if (res.status === 202) accepted.push(((await res.json()) as { id: string }).id);
        else {
          expect(res.status).toBe(503);
          refusedAtDoor++;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    // Awaited below; if the test fails before that, its requests to a closing API must not add an unhandled rejection.
    submitting.catch(() => {});

    // Mid-run: the kill comes once a few calls have been made (the machine may be slow to start them).
    const calls = () => sys.fake.log.filter((l) => l.model === 'claude-test').length;
    for (const until = Date.now() + 30_000; calls() < 10 && Date.now() < until; )
      await new Promise((r) => setTimeout(r, 50));
    expect(calls()).toBeGreaterThanOrEqual(10);
    await cluster.processes.find((p) => p.port === queueMaster)!.kill();
    mark('killed queue master');
    await cluster.waitHealthy(60_000);
    mark('failed over');
    expect(await cluster.masterOf('{claude-test}')).not.toBe(queueMaster); // its replica took over
    if (budgetMaster !== queueMaster) {
      await cluster.processes.find((p) => p.port === budgetMaster)!.kill();
      mark('killed budget master');
      await cluster.waitHealthy(60_000);
      mark('failed over');
      expect(await cluster.masterOf(`{${day}}`)).not.toBe(budgetMaster);
    }
    await submitting;
    mark('submitted');
    expect(accepted.length).toBeGreaterThan(SUBMITS / 2);

    const tasks: TaskJson[] = await Promise.all(accepted.map((id) => waitFor(sys, id, 120_000)));
    mark('all ended');
    const succeeded = tasks.filter((t) => t.status === 'succeeded');
    const refused = tasks.filter((t) => t.status === 'failed' && t.error?.kind === 'budget_exceeded');
    // Every accepted task ended: a success or a budget refusal, nothing left queued or running.
    expect(tasks.filter((t) => !succeeded.includes(t) && !refused.includes(t)).map((t) => [t.status, t.error])).toEqual(
      [],
    );
    expect(succeeded.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0); // the limit was reached, so "not overspent" means something
    for (const t of succeeded) expect(t.attempts.filter((a) => a.outcome === 'succeeded')).toHaveLength(1);
    expect(refused.every((t) => t.attempts.length === 0)).toBe(true);

    // Each call the provider saw is one recorded attempt, paid once.
    const db = sys.database.db;

    const rows = await db.execute<{ calls: number; micros: string }>(
      sql`select count(*)::int as calls, coalesce(sum(cost_micros), 0) as micros from attempts`,
    );
    expect(rows.rows[0]?.calls).toBe(sys.fake.log.filter((l) => l.model === 'claude-test').length);
    const spent = Number(rows.rows[0]?.micros);
    expect(spent).toBe(succeeded.length * COST);
    expect(spent).toBeLessThanOrEqual(LIMIT_MICROS);
    // The promoted replicas' ledger agrees with Postgres: no hold or settled cost was lost in a failover.
    const budget = (await (await sys.call('/v1/budget', { key: TEST_ADMIN_KEY })).json()) as {
      spent: number;
      reserved: number;
    };
    expect(Math.round(budget.spent * 1e6)).toBe(spent);
    expect(budget.reserved).toBe(0);
    // No task row is stranded in progress (accepted or not).
    const open = await db.execute<{ n: number }>(
      sql`select count(*)::int as n from tasks where status in ('queued', 'running')`,
    );
    expect(open.rows[0]?.n).toBe(0);
    const readded = workers
      .flatMap((w) => w.logLines())
      .reduce((n, l) => n + (typeof l.readded === 'number' ? l.readded : 0), 0);
    mark(
      `${accepted.length} accepted, ${refusedAtDoor} answered 503, ${succeeded.length} succeeded, ` +
        `${refused.length} refused by the budget, ${readded} re-added by the sweep`,
    );
  }, 240_000);
});
