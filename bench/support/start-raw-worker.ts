import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createRedis } from '@orchex/queue';
import { Queue } from 'bullmq';
import { benchBundles } from './bench-bundles.ts';

/** A running raw-worker.ts process and the queue that feeds it. */
export interface RawWorker {
  pid: number;
  /** Adds `n` jobs (500 per round trip) and resolves with the seconds until the worker completed them all. */
  run(n: number): Promise<number>;
  /** Kills the process and removes its queue's keys. */
  close(): Promise<void>;
}

/**
 * The baseline in a process of its own, as an orchex worker runs in one: the same machine, Redis and fake server,
 * but neither shares the other's event loop or heap. Compiled like the worker (benchBundles). `fakeEnv` is
 * fakeProviderEnv(fake.url).
 */
export async function startRawWorker(
  redisUrl: string,
  concurrency: number,
  fakeEnv: Record<string, string>,
): Promise<RawWorker> {
  const prefix = `bench-raw-${randomBytes(3).toString('hex')}`;
  const child: ChildProcess = fork(
    join(await benchBundles(), 'raw-worker.js'),
    ['--concurrency', String(concurrency)],
    {
      execArgv: [], // plain node: not this process's tsx loader
      env: { ...process.env, ...fakeEnv, REDIS_URL: redisUrl, RAW_PREFIX: prefix },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const next = () =>
    new Promise<unknown>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`raw worker exited (${code})`));
      child.once('exit', onExit);
      child.once('message', (m) => {
        child.off('exit', onExit);
        resolve(m);
      });
    });
  await next(); // "ready"
  const queue = new Queue('raw', { connection: createRedis(redisUrl), prefix });
  let total = 0;
  return {
    pid: child.pid as number,
    async run(n) {
      total += n;
      const done = next();
      child.send({ until: total });
      const t = performance.now();
      for (let i = 0; i < n; i += 500) {
        await queue.addBulk(
          Array.from({ length: Math.min(500, n - i) }, () => ({
            name: 'call',
            data: {},
            opts: { removeOnComplete: true },
          })),
        );
      }
      await done;
      return (performance.now() - t) / 1000;
    },
    async close() {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
      await queue.obliterate({ force: true });
      await queue.close();
    },
  };
}
