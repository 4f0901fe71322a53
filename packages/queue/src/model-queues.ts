import type { OrchexConfig } from '@orchex/core';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobPayload } from './job-catalog.ts';
import { DEFAULT_PREFIX, queueName, stepJobId } from './queue-name.ts';

/** How long finished jobs stay in Redis: long enough for Bull Board and for deterministic ids to dedupe re-adds. */
export const KEEP_COMPLETED = { age: 24 * 3600, count: 50_000 };
export const KEEP_FAILED = { age: 7 * 24 * 3600, count: 50_000 };

/** One BullMQ queue per configured model, for producers (API) and for workers that re-route. */
export class ModelQueues {
  private readonly queues = new Map<string, Queue>();

  constructor(
    readonly config: OrchexConfig,
    readonly connection: Redis,
    readonly prefix: string = DEFAULT_PREFIX,
  ) {
    for (const model of Object.keys(config.models)) {
      this.queues.set(
        model,
        new Queue(queueName(model), {
          connection,
          prefix,
          // attempts/backoff cover only unexpected errors (a database blink): provider errors are handled by the
          // step itself with DelayedError/RateLimitError/UnrecoverableError, which do not use them.
          defaultJobOptions: {
            attempts: 5,
            backoff: { type: 'exponential', delay: 2000 },
            removeOnComplete: KEEP_COMPLETED,
            removeOnFail: KEEP_FAILED,
          },
        }),
      );
    }
  }

  /** The queue of a model; throws on an unknown model (the router only plans configured ones). */
  get(model: string): Queue {
    const q = this.queues.get(model);
    if (!q) throw new Error(`no queue for model "${model}"`);
    return q;
  }

  all(): Queue[] {
    return [...this.queues.values()];
  }

  /** Adds step `step` of a task to `model`'s queue; idempotent thanks to the deterministic job id. */
  async enqueueStep(taskId: string, step: number, model: string): Promise<void> {
    const data: JobPayload<'step'> = { taskId, step };
    await this.get(model).add('step', data, { jobId: stepJobId(taskId, step) });
  }

  /** Adds many first steps at once (batches): one round trip per model queue. */
  async enqueueMany(items: Array<{ taskId: string; step: number; model: string }>): Promise<void> {
    const byModel = new Map<string, typeof items>();
    for (const it of items) {
      const list = byModel.get(it.model);
      if (list) list.push(it);
      else byModel.set(it.model, [it]);
    }
    await Promise.all(
      [...byModel].map(([model, list]) =>
        this.get(model).addBulk(
          list.map((it) => ({
            name: 'step',
            data: { taskId: it.taskId, step: it.step } satisfies JobPayload<'step'>,
            opts: { jobId: stepJobId(it.taskId, it.step) },
          })),
        ),
      ),
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.all().map((q) => q.close()));
  }
}
