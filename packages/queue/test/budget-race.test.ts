import { estimateInputTokens } from '@orchex/core';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type QueueJobs, queueJobs } from '../../../test/support/queue-jobs.ts';
import { startSystem, TEST_ADMIN_KEY, type TestSystem } from '../../../test/support/start-system.ts';
import { submit, type TaskJson, waitFor } from '../../../test/support/task-client.ts';
import { testConfigSource } from '../../../test/support/test-config.ts';
import { spawnWorker } from '../../../test/support/worker-process.ts';
import { BudgetLedger } from '../src/index.ts';

// claude-test: $3 / $15 per million tokens = 3 / 15 µ$ per token. The prompt is 100 tokens (cl100k), estimated for
// Anthropic at 100 × 1.3 + 8 = 138, so each call holds 138 × 3 + 200 × 15 = 3,414 µ$ before it is made.
const PROMPT = 'word '.repeat(100);
const MAX_TOKENS = 200;
const HOLD_MICROS =
  estimateInputTokens({ prompt: PROMPT }, { provider: 'anthropic', model_id: 'claude-test' }) * 3 + MAX_TOKENS * 15;
const LIMIT_MICROS = 165_000; // room for 48 holds at once
const LIMIT_USD = LIMIT_MICROS / 1e6;
const TASKS = 200;
const WORKERS = 3;
/** Jobs at once per worker process: fewer than the 48 holds, so no one process can take them all. */
const PER_WORKER = 20;
/** µ$ of a call as the provider billed it. */
const billed = (input: number, output: number) => input * 3 + output * 15;

/** One atomic read of today's ledger: settled spend, held amount, and the reservation ids (`taskId.step.attempt`). */
interface HoldSnapshot {
  spent: number;
  reserved: number;
  ids: string[];
}

/**
 * The system on worker processes serving the same queue, with tasks released together: the queue is paused while
 * they are submitted and resumed at once (the barrier), while the ledger's live holds are read over and over.
 */
async function startRace(label: string, usage: { input: number; output: number }) {
  const sys = await startSystem(label, {
    workers: false,
    // In-flight caps (BullMQ's global concurrency, the limiter's) far above the 48 holds the budget has room for, so
    // only the budget decides how many calls run at once.
    configSource: testConfigSource({
      cost_limits: { max_daily_cost: LIMIT_USD },
      models: { 'claude-test': { max_concurrency: TASKS } },
    }),
  });
  sys.fake.setDefault('claude-test', { type: 'ok', latencyMs: 1000, usage });
  const jobs = queueJobs(sys.redisUrl, sys.prefix);
  await jobs.queue('claude-test').pause();
  const workers = Array.from({ length: WORKERS }, () =>
    spawnWorker(sys.env, ['--queues', 'claude-test,gpt-test', '--concurrency', String(PER_WORKER)]),
  );
  await Promise.all(workers.map((w) => w.ready));
  const redis = new Redis(sys.redisUrl);
  const ledger = new BudgetLedger(redis, { prefix: sys.prefix });
  const keys = ledger.keys(await ledger.today());
  const snapshot = async (): Promise<HoldSnapshot> => {
    const res = await redis.multi().get(keys.spent).get(keys.reserved).hkeys(keys.amounts).exec();
    const [spent, reserved, ids] = (res ?? []).map(([err, value]) => {
      if (err) throw err;
      return value;
    });
    return { spent: Number(spent ?? 0), reserved: Number(reserved ?? 0), ids: ids as string[] };
  };

  /** Submits TASKS tasks behind the barrier, releases them, and reads the live holds until all have ended. */
  async function race(): Promise<{ tasks: TaskJson[]; snapshots: HoldSnapshot[] }> {
    const ids = await Promise.all(
      Array.from({ length: TASKS }, () =>
        // One model: a refused call may move on to a cheaper model that fits (see budget-fallback.test.ts), which
        // is not what this race is about.
        submit(sys, { prompt: PROMPT, fallback_chain: ['claude-test'], max_tokens: MAX_TOKENS }),
      ),
    );
    expect((await jobs.counts('claude-test')).waiting).toBe(TASKS);
    const snapshots: HoldSnapshot[] = [];
    let watching = true;
    const watch = (async () => {
      while (watching) {
        snapshots.push(await snapshot());
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await jobs.queue('claude-test').resume();
    try {
      return { tasks: await Promise.all(ids.map((id) => waitFor(sys, id, 90_000))), snapshots };
    } finally {
      watching = false;
      await watch;
    }
  }

  /** Which worker process ran each task's call, from the attempt lines of their own logs. */
  function processOf(): Map<string, number> {
    const byTask = new Map<string, number>();
    workers.forEach((w, i) => {
      for (const l of w.logLines()) {
        if (l.msg === 'attempt' && l.outcome === 'succeeded' && typeof l.taskId === 'string') byTask.set(l.taskId, i);
      }
    });
    return byTask;
  }

  /** The most holds, and the most worker processes holding one, live in a single read of the ledger. */
  function overlap(snapshots: HoldSnapshot[]): { holds: number; processes: number } {
    const byTask = processOf();
    let holds = 0;
    let processes = 0;
    for (const { ids } of snapshots) {
      holds = Math.max(holds, ids.length);
      const owners = new Set(ids.map((id) => byTask.get(id.split('.')[0] ?? '')));
      owners.delete(undefined);
      processes = Math.max(processes, owners.size);
    }
    return { holds, processes };
  }

  async function spentInPostgres(): Promise<number> {
    const res = await sys.database.db.execute<{ micros: string }>(
      sql`select coalesce(sum(cost_micros), 0) as micros from attempts`,
    );
    return Number(res.rows[0]?.micros);
  }

  async function budget() {
    // The global budget: what the admin key sees (a client key sees its own).
    const res = await sys.call('/v1/budget', { key: TEST_ADMIN_KEY });
    return (await res.json()) as { spent: number; reserved: number; limit: number };
  }

  async function close() {
    for (const w of workers) w.proc.kill('SIGKILL');
    await redis.quit();
    await jobs.close();
    await sys.close();
  }

  return { sys, jobs, workers, race, overlap, processOf, spentInPostgres, budget, close };
}

type Race = Awaited<ReturnType<typeof startRace>>;

/** Every outcome is a success or a budget refusal; refused tasks made no call, and nothing fell back to gpt-test. */
function expectSucceededOrRefused(r: Race, tasks: TaskJson[]) {
  const succeeded = tasks.filter((t) => t.status === 'succeeded');
  const refused = tasks.filter((t) => t.status === 'failed' && t.error?.kind === 'budget_exceeded');
  expect(succeeded.length + refused.length).toBe(TASKS);
  expect(refused.every((t) => t.attempts.length === 0)).toBe(true);
  expect(r.sys.fake.log.filter((l) => l.model === 'gpt-test')).toHaveLength(0);
  expect(r.sys.fake.log.filter((l) => l.model === 'claude-test')).toHaveLength(succeeded.length);
  return { succeeded, refused };
}

/** The reservations raced: holds of several worker processes were live in the same read of the ledger. */
function expectOverlap(r: Race, snapshots: HoldSnapshot[], succeeded: TaskJson[]) {
  const seen = r.overlap(snapshots);
  expect(seen.holds).toBeGreaterThanOrEqual(2);
  expect(seen.processes).toBeGreaterThanOrEqual(2);
  // Every process made calls of its own: the budget was shared, not held per process.
  const owners = r.processOf();
  expect(succeeded.every((t) => owners.has(t.id))).toBe(true);
  expect(new Set(succeeded.map((t) => owners.get(t.id))).size).toBe(WORKERS);
}

describe(`the daily budget under concurrency (${WORKERS} worker processes, tasks released together)`, () => {
  let r: Race;
  beforeAll(async () => {
    r = await startRace('budget_race', { input: 100, output: MAX_TOKENS });
  }, 90_000);
  afterAll(async () => r?.close());

  it(`${TASKS} tasks at once with a budget for 48 holds: the holds overlap, spend ≤ budget, the rest fail budget_exceeded without a call`, async () => {
    const { tasks, snapshots } = await r.race();
    const { succeeded } = expectSucceededOrRefused(r, tasks);
    expectOverlap(r, snapshots, succeeded);
    // At every moment read, what was spent and what was held fit in the limit together.
    for (const snap of snapshots) expect(snap.spent + snap.reserved).toBeLessThanOrEqual(LIMIT_MICROS);
    // Each call costs 3,300 µ$, less than its hold: 48 fit at once, 50 once some have settled.
    expect(succeeded.length).toBeGreaterThanOrEqual(45);
    expect(succeeded.length).toBeLessThanOrEqual(50);

    const spent = await r.spentInPostgres();
    expect(spent).toBe(succeeded.length * billed(100, MAX_TOKENS));
    expect(spent).toBeLessThanOrEqual(LIMIT_MICROS);
    const budget = await r.budget();
    expect(budget.limit).toBeCloseTo(LIMIT_USD, 9);
    expect(budget.spent).toBeCloseTo(spent / 1e6, 9);
    expect(budget.reserved).toBe(0);
  }, 120_000);

  it('PUT /v1/budget with the admin key raises the global limit for every process; a client key sets only its own', async () => {
    const { sys } = r;
    const own = await sys.call('/v1/budget', { method: 'PUT', json: { max_daily_cost: 100 } });
    expect(own.status).toBe(200);
    expect(await own.json()).toMatchObject({ scope: 'key', limit: 100 });
    expect((await r.budget()).limit).toBeCloseTo(LIMIT_USD, 9); // the global limit did not move
    const bad = await sys.call('/v1/budget', { method: 'PUT', json: { max_daily_cost: -1 }, key: TEST_ADMIN_KEY });
    expect(bad.status).toBe(400);
    const ok = await sys.call('/v1/budget', { method: 'PUT', json: { max_daily_cost: 100 }, key: TEST_ADMIN_KEY });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { limit: number }).limit).toBe(100);
    const t = await waitFor(
      sys,
      await submit(sys, { prompt: PROMPT, fallback_chain: ['claude-test'], max_tokens: MAX_TOKENS }),
    );
    expect(t.status).toBe('succeeded');
  });
});

describe('the daily budget when the provider bills more input than estimated', () => {
  // The provider bills 1,000 input tokens for the prompt estimated at 138 (a tokenizer of its own we cannot run, say):
  // 6,000 µ$ a call against a hold of 3,414. A hold is a worst case only as good as the estimate, so what
  // "Budgets are reservations" (docs/architecture.md) can promise here is that concurrency adds nothing: counting
  // each call at no more than its hold, spend stays within the limit — the overspend is at most what the provider
  // billed beyond the holds — and once the real spend leaves no room for another hold, no call is made.
  const INPUT_BILLED = 1000;
  let r: Race;
  beforeAll(async () => {
    r = await startRace('budget_overbill', { input: INPUT_BILLED, output: MAX_TOKENS });
  }, 90_000);
  afterAll(async () => r?.close());

  it(`${TASKS} tasks at once: every cent billed is recorded, and spend beyond the limit is at most what was billed above the holds`, async () => {
    const { tasks, snapshots } = await r.race();
    const { succeeded } = expectSucceededOrRefused(r, tasks);
    expectOverlap(r, snapshots, succeeded);
    expect(succeeded.length).toBeGreaterThan(0);

    // What the provider billed, call by call, is what orchex recorded: the real cost, not the estimate.
    const calls = r.sys.fake.log.filter((l) => l.model === 'claude-test');
    expect(calls.every((l) => l.inputTokens === INPUT_BILLED && l.outputTokens === MAX_TOKENS)).toBe(true);
    const perCall = billed(INPUT_BILLED, MAX_TOKENS);
    expect(succeeded.every((t) => Math.round(t.cost * 1e6) === perCall)).toBe(true);
    const spent = await r.spentInPostgres();
    expect(spent).toBe(calls.length * perCall);
    const budget = await r.budget();
    expect(budget.spent * 1e6).toBeCloseTo(spent, 3);
    expect(budget.reserved).toBe(0);

    // The documented guarantee, with each call counted at no more than its hold: the overspend is at most what the
    // provider billed beyond the holds (a hold-count the limit could not hold would break this by a whole hold).
    expect(spent - LIMIT_MICROS).toBeLessThanOrEqual(succeeded.length * Math.max(0, perCall - HOLD_MICROS));

    // The real spend leaves no room for another hold: the next task is refused without a call.
    expect(spent + HOLD_MICROS).toBeGreaterThan(LIMIT_MICROS);
    const next = await waitFor(
      r.sys,
      await submit(r.sys, { prompt: PROMPT, fallback_chain: ['claude-test'], max_tokens: MAX_TOKENS }),
    );
    expect(next).toMatchObject({ status: 'failed', error: { kind: 'budget_exceeded' }, attempts: [] });
    expect(r.sys.fake.log.filter((l) => l.model === 'claude-test')).toHaveLength(calls.length);
  }, 120_000);
});
