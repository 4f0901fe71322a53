import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type QueueJobs, queueJobs } from '../../../test/support/queue-jobs.ts';
import { startSystem, type TestSystem } from '../../../test/support/start-system.ts';
import { submit, waitFor } from '../../../test/support/task-client.ts';
import { testConfigSource } from '../../../test/support/test-config.ts';
import { spawnWorker, type WorkerProcess } from '../../../test/support/worker-process.ts';

// The limits are per sliding window; a 4 s window keeps the test short and checks the same property as 60 s.
const WINDOW_MS = 4000;
const RPM = 8; // requests per window
const IN_FLIGHT = 3;
const TPM = 1000; // tokens per window; each call reserves its estimate (≈ 60 input + 40 max output), uses 90

/** Most entries whose start falls in any window [t, t + WINDOW_MS), sliding over every start. */
function worstWindow(entries: Array<{ startedAt: number; weight: number }>): number {
  const sorted = [...entries].sort((a, b) => a.startedAt - b.startedAt);
  let worst = 0;
  for (let i = 0; i < sorted.length; i++) {
    let sum = 0;
    for (let j = i; j < sorted.length && sorted[j]!.startedAt < sorted[i]!.startedAt + WINDOW_MS; j++)
      sum += sorted[j]!.weight;
    worst = Math.max(worst, sum);
  }
  return worst;
}

/** How many attempts of `model` a worker logged as succeeded. */
const succeededIn = (w: WorkerProcess, model: string) =>
  w.logLines().filter((l) => l.msg === 'attempt' && l.model === model && l.outcome === 'succeeded').length;

// BullMQ's global concurrency, which start-workers.ts sets to max_concurrency, caps jobs in progress too; the test
// lifts it far above the limit once the workers have started, so only orchex's own limiter can hold the cap.
const BULLMQ_CONCURRENCY = 1000;
// Jobs at once per process: together (6) more than the in-flight cap, so the cap is the limiter's to hold, and few
// enough that no process can take every job while another waits for one, so all three take part.
const PER_PROCESS = 2;

describe('model limits hold across 3 worker processes', () => {
  let sys: TestSystem;
  let jobs: QueueJobs;
  let workers: WorkerProcess[] = [];
  beforeAll(async () => {
    sys = await startSystem('limits_procs', {
      workers: false,
      configSource: testConfigSource({
        models: {
          'gpt-test': { rpm: RPM, max_concurrency: IN_FLIGHT },
          'claude-test': { rpm: 1000, max_concurrency: 50, tpm: TPM },
        },
      }),
    });
    sys.fake.setDefault('gpt-test', { type: 'ok', latencyMs: 400 });
    sys.fake.setDefault('claude-test', { type: 'ok', latencyMs: 50, usage: { input: 50, output: 40 } });
    workers = [0, 1, 2].map(() =>
      spawnWorker({ ...sys.env, ORCHEX_LIMIT_WINDOW_MS: String(WINDOW_MS) }, ['--concurrency', String(PER_PROCESS)]),
    );
    await Promise.all(workers.map((w) => w.ready));
    jobs = queueJobs(sys.redisUrl, sys.prefix);
    for (const model of ['gpt-test', 'claude-test']) {
      await jobs.queue(model).setGlobalConcurrency(BULLMQ_CONCURRENCY);
      expect(await jobs.queue(model).getGlobalConcurrency()).toBe(BULLMQ_CONCURRENCY);
    }
  }, 60_000);
  afterAll(async () => {
    for (const w of workers) w.proc.kill('SIGKILL');
    await jobs?.close();
    await sys?.close();
  });

  it(`rpm ${RPM}/window and ${IN_FLIGHT} in flight: no window over, never more in flight`, async () => {
    const ids = await Promise.all(
      Array.from({ length: 24 }, (_, i) => submit(sys, { prompt: `q${i}`, fallback_chain: ['gpt-test'] })),
    );
    const tasks = await Promise.all(ids.map((id) => waitFor(sys, id, 60_000)));
    expect(tasks.every((t) => t.status === 'succeeded')).toBe(true);
    const calls = sys.fake.log.filter((l) => l.model === 'gpt-test');
    expect(calls).toHaveLength(24);
    expect(worstWindow(calls.map((c) => ({ startedAt: c.startedAt, weight: 1 })))).toBeLessThanOrEqual(RPM);
    expect(sys.fake.peakInFlight('gpt-test')).toBeLessThanOrEqual(IN_FLIGHT);
    // All three processes took part: the limits were shared, not per process.
    for (const w of workers) expect(succeededIn(w, 'gpt-test')).toBeGreaterThan(0);
  }, 90_000);

  it(`tpm ${TPM}/window: tokens of calls started in any window stay within the limit`, async () => {
    const ids = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        submit(sys, { prompt: `t${i} ${'lorem ipsum '.repeat(17)}`, fallback_chain: ['claude-test'], max_tokens: 40 }),
      ),
    );
    const tasks = await Promise.all(ids.map((id) => waitFor(sys, id, 60_000)));
    expect(tasks.every((t) => t.status === 'succeeded')).toBe(true);
    const calls = sys.fake.log.filter((l) => l.model === 'claude-test');
    expect(calls).toHaveLength(25);
    const worst = worstWindow(
      calls.map((c) => ({ startedAt: c.startedAt, weight: (c.inputTokens ?? 0) + (c.outputTokens ?? 0) })),
    );
    expect(worst).toBeGreaterThan(0);
    expect(worst).toBeLessThanOrEqual(TPM);
    // All three processes took part here too: the token window was shared, not per process.
    for (const w of workers) expect(succeededIn(w, 'claude-test')).toBeGreaterThan(0);
  }, 90_000);
});
