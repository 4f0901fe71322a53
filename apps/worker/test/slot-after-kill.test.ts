import { createRedis, ModelLimiter } from '@orchex/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, type TestSystem } from '../../../test/support/start-system.ts';
import { submit } from '../../../test/support/task-client.ts';
import { spawnWorker, type WorkerProcess } from '../../../test/support/worker-process.ts';

const until = async (cond: () => boolean | Promise<boolean>, ms = 30_000) => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe("a killed worker's in-flight slot", () => {
  let sys: TestSystem;
  let worker: WorkerProcess | undefined;
  beforeAll(async () => {
    sys = await startSystem('slot_after_kill', { workers: false });
  });
  afterAll(async () => {
    worker?.proc.kill('SIGKILL');
    await sys?.close();
  });

  it('comes back within the job lock time, not the task timeout, and is renewed while the call runs', async () => {
    sys.fake.setDefault('claude-test', { type: 'hang' });
    const lockMs = 2000;
    worker = spawnWorker({ ...sys.env, ORCHEX_LOCK_MS: String(lockMs) }, ['--queues', 'claude-test']);
    await worker.ready;
    // A long research call: its deadline (and the old lease) is 10 minutes away.
    await submit(sys, { prompt: 'a long call', fallback_chain: ['claude-test'], timeout: 600 });
    await until(() => sys.fake.inFlight('claude-test') === 1);
    const redis = createRedis(sys.redisUrl);
    const limiter = new ModelLimiter(redis, { prefix: sys.prefix });
    try {
      // While the call runs, its lease is renewed: after three lock times it is still held, never longer than one.
      await new Promise((r) => setTimeout(r, 3 * lockMs));
      const held = await limiter.windowState('claude-test');
      expect(held.inFlight).toBe(1);
      expect(held.leases[0]!.expiresAtMs - held.nowMs).toBeLessThanOrEqual(lockMs);

      worker.proc.kill('SIGKILL');
      await worker.exited;
      const atKill = await limiter.windowState('claude-test');
      // By Redis's clock: the dead worker's slot frees within one lock time of now.
      expect(atKill.leases[0]!.expiresAtMs - atKill.nowMs).toBeLessThanOrEqual(lockMs);
      await until(async () => (await limiter.inFlight('claude-test')) === 0, 4 * lockMs + 5000);
    } finally {
      redis.disconnect();
    }
  }, 60_000);
});
