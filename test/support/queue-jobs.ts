import { createRedis, queueName, type RedisClusterSetting } from '@orchex/queue';
import { Queue } from 'bullmq';

/** The job states BullMQ counts. */
export const JOB_STATES = [
  'active',
  'waiting',
  'waiting-children',
  'prioritized',
  'delayed',
  'completed',
  'failed',
] as const;
export type JobCounts = Record<(typeof JOB_STATES)[number], number>;

/** Reads the BullMQ queues of a system (by model) as they are in Redis: what was queued, whatever ran it. */
export interface QueueJobs {
  queue(model: string): Queue;
  counts(model: string): Promise<JobCounts>;
  /** Jobs of `model` that may still run: active, waiting (a paused queue's too), prioritized, delayed, or waiting for children. */
  pending(model: string): Promise<number>;
  close(): Promise<void>;
}

export function queueJobs(redisUrl: string, prefix: string, cluster?: RedisClusterSetting): QueueJobs {
  const connection = createRedis(redisUrl, 'orchex-tests', { cluster });
  const queues = new Map<string, Queue>();
  const queue = (model: string) => {
    let q = queues.get(model);
    if (!q) {
      q = new Queue(queueName(model), { connection, prefix });
      queues.set(model, q);
    }
    return q;
  };
  const counts = async (model: string): Promise<JobCounts> => {
    const raw = await queue(model).getJobCounts(...JOB_STATES);
    return Object.fromEntries(JOB_STATES.map((s) => [s, raw[s] ?? 0])) as JobCounts;
  };
  return {
    queue,
    counts,
    async pending(model) {
      const c = await counts(model);
      return c.active + c.waiting + c['waiting-children'] + c.prioritized + c.delayed;
    },
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
      connection.disconnect();
    },
  };
}
