import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { attempts } from '@orchex/db';
import { faults } from '@orchex/providers/fake';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, TEST_ADMIN_KEY, TEST_API_KEY, type TestSystem } from '../../../test/support/start-system.ts';
import {
  ApiError,
  type BatchProgress,
  BudgetExceededError,
  ConnectionError,
  CostAnalyzer,
  DEFAULT_BASE_URL,
  Orchestrator,
  OrchexError,
  TaskFailedError,
  ValidationError,
} from '../src/index.ts';

// The client against the whole system: real API, Redis, Postgres and workers; only the model API is faked.
let sys: TestSystem;
let orchestrator: Orchestrator;
let admin: Orchestrator;
beforeAll(async () => {
  sys = await startSystem('client');
  // llama-test always answers 401: a task whose only model it is fails (kind "auth", no retry).
  sys.fake.setDefault('llama-test', faults.unauthorized());
  orchestrator = new Orchestrator({ baseUrl: sys.url, apiKey: TEST_API_KEY, pollIntervalMs: 50 });
  admin = new Orchestrator({ baseUrl: `${sys.url}/`, apiKey: TEST_ADMIN_KEY, pollIntervalMs: 50 });
});
afterAll(async () => sys?.close());

/** A port nothing listens on: bound once by us, then released. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

const failing = { prompt: 'this one fails', fallbackChain: ['llama-test'] };

describe('execute', () => {
  it('returns content, model, cost, usage, attempts and id', async () => {
    const r = await orchestrator.execute({
      prompt: 'Write a Python function to calculate fibonacci',
      taskType: 'code',
      maxTokens: 200,
      metadata: { n: 1 },
    });
    expect(r.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.model).toBe('claude-test');
    expect(r.content).toContain('fake answer from claude-test');
    expect(r.cost).toBeGreaterThan(0);
    expect(r.usage?.inputTokens.total).toBeGreaterThan(0);
    expect(r.attempts).toHaveLength(1);
    expect(r.attempts[0]).toMatchObject({
      model: 'claude-test',
      outcome: 'succeeded',
      provider: 'anthropic',
      errorKind: null,
    });
    expect(r.attempts[0]?.cost).toBe(r.cost);
    expect(r.metadata).toEqual({ n: 1 });
  });

  it('maps camelCase options (fallbackChain, idempotencyKey) to the API', async () => {
    const a = await orchestrator.execute({
      prompt: 'explicit chain',
      fallbackChain: ['gemini-test'],
      idempotencyKey: 'client-idem-1',
    });
    expect(a.model).toBe('gemini-test');
    const b = await orchestrator.execute({
      prompt: 'explicit chain',
      fallbackChain: ['gemini-test'],
      idempotencyKey: 'client-idem-1',
    });
    expect(b.id).toBe(a.id);
  });

  it('a failed task → TaskFailedError with its kind and attempts', async () => {
    const err = await orchestrator.execute(failing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskFailedError);
    expect(err).not.toBeInstanceOf(BudgetExceededError);
    const e = err as TaskFailedError;
    expect(e.kind).toBe('auth');
    expect(e.taskId).toMatch(/^[0-9a-f-]{36}$/);
    expect(e.attempts).toHaveLength(1);
    expect(e.attempts[0]).toMatchObject({ model: 'llama-test', outcome: 'failed', errorKind: 'auth', statusCode: 401 });
    expect(e.message).toContain('failed');
  });

  it('invalid input → ValidationError with the fields', async () => {
    const err = (await orchestrator
      .execute({ prompt: ' ', maxTokens: -1 })
      .catch((e: unknown) => e)) as ValidationError;
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.status).toBe(400);
    expect(err.fields.map((f) => f.field).sort()).toEqual(['max_tokens', 'prompt']);
    const unknownModel = (await orchestrator
      .execute({ prompt: 'x', fallbackChain: ['gpt-9'] })
      .catch((e: unknown) => e)) as ValidationError;
    expect(unknownModel.fields[0]?.field).toBe('fallback_chain.0');
    // A misspelt option reaches the API and is named, not dropped.
    const typo = (await orchestrator
      .execute({ prompt: 'x', maxTokenz: 5 } as never)
      .catch((e: unknown) => e)) as ValidationError;
    expect(typo).toBeInstanceOf(ValidationError);
    expect(typo.message).toContain('max_tokenz');
  });

  it('a wrong key → ApiError 401; a closed port → ConnectionError', async () => {
    const wrong = new Orchestrator({ baseUrl: sys.url, apiKey: 'not-a-valid-key-000000' });
    const e = (await wrong.submit({ prompt: 'x' }).catch((err: unknown) => err)) as ApiError;
    expect(e).toBeInstanceOf(ApiError);
    expect([e.status, e.code]).toEqual([401, 'unauthorized']);
    const unknownTask = (await orchestrator
      .getTask('00000000-0000-4000-8000-000000000000')
      .catch((err: unknown) => err)) as ApiError;
    expect([unknownTask.status, unknownTask.code]).toEqual([404, 'not_found']);
    const port = await closedPort();
    const closed = new Orchestrator({ baseUrl: `http://127.0.0.1:${port}`, apiKey: TEST_API_KEY });
    const c = await closed.submit({ prompt: 'x' }).catch((err: unknown) => err);
    expect(c).toBeInstanceOf(ConnectionError);
    expect((c as Error).message).toMatch(
      new RegExp(`cannot reach orchex at http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`),
    );
  });
});

describe('executeParallel and executeBatch', () => {
  it('executeParallel: results in input order; a failed or invalid task does not fail the others', async () => {
    const results = await orchestrator.executeParallel([
      { prompt: 'Task 1', taskType: 'code' },
      failing,
      { prompt: 'Task 3', taskType: 'research' },
      { prompt: '' },
      { prompt: 'Task 5', taskType: 'analysis', fallbackChain: ['gemini-test'] },
    ]);
    expect(results.map((r) => r.model)).toEqual(['claude-test', null, 'gpt-test', null, 'gemini-test']);
    expect(results[0]?.error).toBeUndefined();
    expect(results[0]?.content).toContain('Task 1');
    expect(results[1]?.error).toBeInstanceOf(TaskFailedError);
    expect(results[1]?.attempts).toHaveLength(1);
    expect(results[1]?.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(results[3]?.error).toBeInstanceOf(ValidationError);
    expect(results[3]?.id).toBeNull();
    expect(results[4]?.content).toContain('Task 5');
  });

  it('executeBatch: progress reported, results in input order, a failed task carries its error and attempts', async () => {
    const tasks = Array.from({ length: 25 }, (_, i) =>
      i === 7
        ? { ...failing, metadata: { i } }
        : { prompt: `Batch task ${i}`, taskType: i % 2 ? ('code' as const) : ('research' as const), metadata: { i } },
    );
    const progress: BatchProgress[] = [];
    const results = await orchestrator.executeBatch(tasks, {
      name: 'client-test',
      onProgress: (p) => progress.push(p),
    });
    expect(results).toHaveLength(25);
    expect(results.map((r) => r.metadata?.i)).toEqual(tasks.map((_, i) => i));
    const failed = results[7];
    if (!failed?.error) throw new Error('task 7 should have failed');
    expect(failed.error).toBeInstanceOf(TaskFailedError);
    expect((failed.error as TaskFailedError).attempts).toHaveLength(1);
    expect(failed.attempts[0]?.errorKind).toBe('auth');
    for (const [i, r] of results.entries()) {
      if (i === 7) continue;
      expect(r.error).toBeUndefined();
      expect(r.content).toContain(`Batch task ${i}`);
      expect(r.model).toBe(i % 2 ? 'claude-test' : 'gpt-test');
    }
    const last = progress.at(-1);
    expect(last).toMatchObject({ total: 25, done: 25, succeeded: 24, failed: 1, running: 0 });
    const summed = results.reduce((s, r) => s + Math.round(r.cost * 1e6), 0);
    expect(Math.round((last?.cost ?? 0) * 1e6)).toBe(summed);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.done).toBeGreaterThanOrEqual(progress[i - 1]!.done);
  });

  it('executeBatch: an invalid task rejects the batch with fields naming its index', async () => {
    const err = (await orchestrator
      .executeBatch([{ prompt: 'ok' }, { prompt: 'bad', maxTokens: 0 }])
      .catch((e: unknown) => e)) as ValidationError;
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.fields.map((f) => f.field)).toEqual(['tasks.1.max_tokens']);
  });

  it('submitBatch / getBatch / batchResults / cancelBatch', async () => {
    const { id, size } = await orchestrator.submitBatch([
      { prompt: 'a', taskType: 'code' },
      { prompt: 'b', taskType: 'code' },
    ]);
    expect(size).toBe(2);
    const b = await orchestrator.waitForBatch(id);
    expect(b).toMatchObject({ id, status: 'completed', counts: { succeeded: 2 } });
    const page = await orchestrator.getBatchResults(id, { limit: 1 });
    expect(page.results.map((r) => r.index)).toEqual([0]);
    expect(page.nextCursor).not.toBeNull();
    const all = [];
    for await (const r of orchestrator.batchResults(id, 1)) all.push(r.index);
    expect(all).toEqual([0, 1]);
    expect(await orchestrator.cancelBatch(id)).toEqual({ cancelled: 0 });
  });
});

describe('costs and budget', () => {
  it('getCostReport maps the report to camelCase and equals the attempts table', async () => {
    const report = await orchestrator.getCostReport();
    const [row] = await sys.database.db
      .select({ n: sql<number>`count(*)::int`, micros: sql<string>`sum(${attempts.costMicros})` })
      .from(attempts);
    expect(report.totalRequests).toBe(row?.n);
    expect(Math.round(report.totalCost * 1e6)).toBe(Number(row?.micros));
    expect(report.avgCostPerRequest).toBeGreaterThan(0);
    expect(Object.keys(report.costByModel).sort()).toEqual(['claude-test', 'gemini-test', 'gpt-test', 'llama-test']);
    expect(report.groupBy).toBe('model');
    expect(report.groups[0]).toHaveProperty('inputTokens');
    const byType = await orchestrator.getCostReport({ groupBy: 'task_type' });
    expect(byType.groups.map((g) => g.key)).toContain('code');
  });

  it('estimate plans like submit (the same estimatedCost, the strategy and per-model figures) and runs nothing', async () => {
    const task = { prompt: 'Name three prime numbers.', taskType: 'code', strategy: 'cost', maxTokens: 300 } as const;
    const calls = sys.fake.log.length;
    const est = await orchestrator.estimate(task);
    expect(sys.fake.log.length).toBe(calls);
    const [only] = est.tasks;
    expect(only?.strategy).toBe('cost');
    expect(only?.perModel?.[0]).toMatchObject({ model: only?.model, worstCaseCost: est.estimatedCost });
    expect(est.budget).toHaveProperty('limitedBy');
    const submitted = await orchestrator.submit(task);
    expect(submitted.plan).toEqual(only?.plan);
    expect(submitted.estimatedCost).toBe(est.estimatedCost);
    expect(submitted.strategy).toBe('cost');
    const batch = await orchestrator.estimate([task, { ...task, maxTokens: 600 }]);
    expect(batch.tasks).toHaveLength(2);
    expect(batch.tasks[1]?.estimatedCost).toBeGreaterThan(batch.tasks[0]?.estimatedCost ?? 0);
    await orchestrator.waitForTask(submitted.id);
  });

  it('getVariantReport maps the A/B report to camelCase (no A/B rule here: no groups, zero totals)', async () => {
    const report = await orchestrator.getVariantReport();
    expect(report).toMatchObject({ tasks: 0, groups: [], failureRate: null });
  });

  it('CostAnalyzer.generateReport maps the analysis to camelCase', async () => {
    const report = await new CostAnalyzer(orchestrator).generateReport();
    expect(report).toMatchObject({ baselineModel: 'gpt-test' });
    expect(report.totalCost).toBeGreaterThan(0);
    expect(report.potentialCost).toBeGreaterThan(0);
    expect(report.savings).toBeCloseTo(report.potentialCost - report.totalCost, 6);
    expect(report.distributionByFamily).toHaveProperty('claude');
    expect(report.optimizationScore).toBeGreaterThanOrEqual(0);
    expect(report.optimizationScore).toBeLessThanOrEqual(100);
  });

  it("setBudget with a client key sets that key's own budget; a task over it → BudgetExceededError without calling the model", async () => {
    const set = await orchestrator.setBudget({ maxDailyCost: 0 });
    expect(set.limit).toBe(0);
    expect((await orchestrator.getBudget()).limit).toBe(0);
    // The global budget is the admin's, and did not move.
    expect((await admin.getBudget()).limit).not.toBe(0);
    const calls = sys.fake.log.length;
    try {
      const err = await orchestrator.execute({ prompt: 'expensive', taskType: 'code' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BudgetExceededError);
      expect(err).toBeInstanceOf(TaskFailedError);
      expect((err as BudgetExceededError).kind).toBe('budget_exceeded');
      expect(sys.fake.log.length).toBe(calls);
    } finally {
      expect((await orchestrator.setBudget({ maxDailyCost: null })).limit).toBeNull();
    }
  });
});

describe('new Orchestrator() and health', () => {
  const saved = { url: process.env.ORCHEX_URL, key: process.env.ORCHEX_API_KEY };
  const restore = () => {
    for (const [name, value] of [
      ['ORCHEX_URL', saved.url],
      ['ORCHEX_API_KEY', saved.key],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  afterAll(restore);

  it('with no arguments (the seed form) reads ORCHEX_URL and ORCHEX_API_KEY; options win over the environment', async () => {
    process.env.ORCHEX_URL = `${sys.url}/`;
    process.env.ORCHEX_API_KEY = TEST_API_KEY;
    const fromEnv = new Orchestrator();
    expect(fromEnv.baseUrl).toBe(sys.url);
    const r = await fromEnv.execute({ prompt: 'from the environment', fallbackChain: ['gemini-test'] });
    expect(r.content).toContain('fake answer from gemini-test');
    // An explicit key beats ORCHEX_API_KEY (a wrong one proves it was used).
    const explicit = new Orchestrator({ apiKey: 'not-a-valid-key-000000' });
    expect(await explicit.getBudget().catch((e: unknown) => (e as ApiError).status)).toBe(401);
    restore();
  });

  it('without a key anywhere it throws at once, naming ORCHEX_API_KEY; without ORCHEX_URL it uses 127.0.0.1:3000', () => {
    delete process.env.ORCHEX_API_KEY;
    delete process.env.ORCHEX_URL;
    expect(() => new Orchestrator()).toThrow(OrchexError);
    expect(() => new Orchestrator()).toThrow(/ORCHEX_API_KEY/);
    expect(new Orchestrator({ apiKey: TEST_API_KEY }).baseUrl).toBe(DEFAULT_BASE_URL);
    expect(DEFAULT_BASE_URL).toBe('http://127.0.0.1:3000');
    restore();
  });

  it('health(): ok with Redis and Postgres as the API sees them; not orchex → ApiError; closed → ConnectionError', async () => {
    expect(await orchestrator.health()).toEqual({ ok: true, redis: 'ok', postgres: 'ok' });
    const other = createServer((_req, res) => res.writeHead(404).end('not here')).listen(0, '127.0.0.1');
    await once(other, 'listening');
    try {
      const notOrchex = new Orchestrator({
        baseUrl: `http://127.0.0.1:${(other.address() as AddressInfo).port}`,
        apiKey: 'k',
      });
      const e = (await notOrchex.health().catch((err: unknown) => err)) as ApiError;
      expect([e instanceof ApiError, e.status, e.code]).toEqual([true, 404, 'not_orchex']);
    } finally {
      other.close();
    }
    const closed = new Orchestrator({ baseUrl: `http://127.0.0.1:${await closedPort()}`, apiKey: 'k' });
    expect(await closed.health().catch((err: unknown) => err)).toBeInstanceOf(ConnectionError);
  });
});
