import { faults } from '@orchex/providers/fake';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSystem, type TestSystem } from '../../../test/support/start-system.ts';
import { submit, submitAndWait, waitFor } from '../../../test/support/task-client.ts';
import { testConfigSource } from '../../../test/support/test-config.ts';
import { ModelQueues, queueName, stepJobId } from '../src/index.ts';

const kinds = (t: { attempts: Array<{ model: string; outcome: string; error_kind: string | null }> }) =>
  t.attempts.map((a) => `${a.model}:${a.error_kind ?? a.outcome}`);

describe('fallback chains: retries and re-routes against scripted faults', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem('engine_faults');
  });
  afterAll(async () => sys?.close());
  beforeEach(() => {
    sys.fake.clearScripts();
    sys.fake.resetLog();
  });

  it('429 with retry-after: the next call waits at least the hint, then succeeds on the same model', async () => {
    sys.fake.script('claude-test', [faults.rateLimited({ retryAfterSeconds: 1 }), { type: 'ok' }]);
    const t = await submitAndWait(sys, { prompt: 'Write a function', task_type: 'code' });
    expect(t.status).toBe('succeeded');
    expect(t.model).toBe('claude-test');
    expect(kinds(t)).toEqual(['claude-test:rate_limited', 'claude-test:succeeded']);
    const calls = sys.fake.log.filter((l) => l.model === 'claude-test');
    expect(calls).toHaveLength(2);
    expect(calls[1]!.startedAt - (calls[0]!.finishedAt ?? Number.POSITIVE_INFINITY)).toBeGreaterThanOrEqual(1000);
  });

  it('500 twice then 200: success after 3 attempts on the same model', async () => {
    sys.fake.script('claude-test', [faults.serverError(), faults.serverError(), { type: 'ok' }]);
    const t = await submitAndWait(sys, { prompt: 'Write a function', task_type: 'code' });
    expect(t.status).toBe('succeeded');
    expect(kinds(t)).toEqual(['claude-test:server', 'claude-test:server', 'claude-test:succeeded']);
    expect(t.attempts.map((a) => a.attempt)).toEqual([...t.attempts.map((a) => a.attempt)].sort((a, b) => a - b));
  });

  it('overloaded on every try: re-routed to the next model, which succeeds; Bull Board shows both steps', async () => {
    sys.fake.setDefault('claude-test', faults.overloaded());
    const id = await submit(sys, { prompt: 'Write a function', task_type: 'code' });
    const t = await waitFor(sys, id);
    sys.fake.setDefault('claude-test', { type: 'ok' });
    expect(t.status).toBe('succeeded');
    expect(t.model).toBe('gpt-test');
    // max_retries 2 → 3 tries on claude-test, then gpt-test.
    expect(kinds(t)).toEqual([
      'claude-test:overloaded',
      'claude-test:overloaded',
      'claude-test:overloaded',
      'gpt-test:succeeded',
    ]);
    expect(t.current_step).toBe(1);
    const q0 = new Queue(queueName('claude-test'), { connection: { url: sys.redisUrl }, prefix: sys.prefix });
    const q1 = new Queue(queueName('gpt-test'), { connection: { url: sys.redisUrl }, prefix: sys.prefix });
    expect(await (await q0.getJob(stepJobId(id, 0)))?.getState()).toBe('failed');
    expect(await (await q1.getJob(stepJobId(id, 1)))?.getState()).toBe('completed');

    // Re-route idempotency: the step-0 job delivered again is stale and creates no second step-1 job.
    const job0 = await q0.getJob(stepJobId(id, 0));
    await job0!.retry('failed');
    for (let i = 0; i < 100 && (await job0!.getState()) !== 'completed'; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(await job0!.getState()).toBe('completed');
    const all = await q1.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed']);
    expect(all.filter((j) => j.data.taskId === id)).toHaveLength(1);
    await Promise.all([q0.close(), q1.close()]);
  });

  it('a hung response: timeout recorded, then fallback', async () => {
    sys.fake.setDefault('claude-test', faults.hang());
    const t = await submitAndWait(sys, { prompt: 'Write a function', task_type: 'code', timeout: 0.5 });
    sys.fake.setDefault('claude-test', { type: 'ok' });
    expect(t.status).toBe('succeeded');
    expect(t.model).toBe('gpt-test');
    expect(kinds(t).slice(0, 3)).toEqual(['claude-test:timeout', 'claude-test:timeout', 'claude-test:timeout']);
  });

  it('400 context length: skips to the next model whose window is larger', async () => {
    sys.fake.script('claude-test', [faults.contextLength()]);
    const t = await submitAndWait(sys, {
      prompt: 'Analyse this',
      fallback_chain: ['claude-test', 'llama-test', 'gemini-test'],
    });
    expect(t.status).toBe('succeeded');
    expect(kinds(t)).toEqual(['claude-test:context_length', 'gemini-test:succeeded']);
    expect(sys.fake.log.some((l) => l.model === 'llama-test')).toBe(false);
  });

  it('malformed body → malformed_response, and connection reset → connection; both retried', async () => {
    sys.fake.script('claude-test', [faults.malformed(), faults.reset(), { type: 'ok' }]);
    const t = await submitAndWait(sys, { prompt: 'Write a function', task_type: 'code' });
    expect(t.status).toBe('succeeded');
    expect(kinds(t)).toEqual(['claude-test:malformed_response', 'claude-test:connection', 'claude-test:succeeded']);
  });

  it('every model failing: the task fails with every attempt listed in order', async () => {
    sys.fake.setDefault('claude-test', faults.serverError());
    sys.fake.setDefault('gpt-test', faults.unauthorized());
    const t = await submitAndWait(sys, { prompt: 'x', fallback_chain: ['claude-test', 'gpt-test'] });
    sys.fake.setDefault('claude-test', { type: 'ok' });
    sys.fake.setDefault('gpt-test', { type: 'ok' });
    expect(t.status).toBe('failed');
    // auth is not retried on the same model.
    expect(kinds(t)).toEqual(['claude-test:server', 'claude-test:server', 'claude-test:server', 'gpt-test:auth']);
    expect(t.error?.kind).toBe('auth');
    expect(t.error?.message).toMatch(/gpt-test/);
  });

  it('the same step added twice creates one job (deterministic job id)', async () => {
    const queues = new ModelQueues(
      sys.config,
      (await import('@orchex/queue')).createRedis(sys.redisUrl),
      `${sys.prefix}-dup`,
    );
    await queues.enqueueStep('00000000-0000-4000-8000-000000000001', 1, 'gpt-test');
    await queues.enqueueStep('00000000-0000-4000-8000-000000000001', 1, 'gpt-test');
    expect(await queues.get('gpt-test').count()).toBe(1);
    await queues.get('gpt-test').obliterate({ force: true });
    await queues.close();
    queues.connection.disconnect();
  });
});

describe('enable_fallback: false', () => {
  let sys: TestSystem;
  beforeAll(async () => {
    sys = await startSystem('engine_nofallback', {
      configSource: testConfigSource({ orchestrator: { enable_fallback: false } }),
    });
  });
  afterAll(async () => sys?.close());

  it('does not re-route: the task fails on its first model', async () => {
    sys.fake.setDefault('claude-test', faults.overloaded());
    const t = await submitAndWait(sys, { prompt: 'Write a function', task_type: 'code' });
    expect(t.status).toBe('failed');
    expect(t.plan).toEqual(['claude-test']);
    expect(new Set(t.attempts.map((a) => a.model))).toEqual(new Set(['claude-test']));
    expect(sys.fake.log.some((l) => l.model !== 'claude-test')).toBe(false);
  });
});
