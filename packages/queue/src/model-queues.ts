import type { OrchexConfig } from '@orchex/core';
import { FlowProducer, type JobsOptions, Queue } from 'bullmq';
import { logConnectionError } from './connection-error-log.ts';
import type { JobPayload } from './job-catalog.ts';
import type { RedisClient } from './limits/lua-command.ts';
import { DEFAULT_PREFIX, queueName, stepJobId } from './queue-name.ts';

/** How long finished jobs stay in Redis: long enough for Bull Board and for deterministic ids to dedupe re-adds. */
export const KEEP_COMPLETED = { age: 24 * 3600, count: 50_000 };
/** How long failed jobs stay in Redis (Bull Board shows them). */
export const KEEP_FAILED = { age: 7 * 24 * 3600, count: 50_000 };

// attempts/backoff cover only unexpected errors (a database blink): provider errors are handled by the step itself
// with DelayedError/RateLimitError/UnrecoverableError, which do not use them.
const JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: KEEP_COMPLETED,
  removeOnFail: KEEP_FAILED,
};

/** Most jobs per addBulk call of enqueueMany. */
const ADD_BULK_SLICE = 250;

/** A job's parent in a flow (the reduce part of a split task), as BullMQ's `parent` option wants it. */
export interface ParentRef {
  id: string;
  /** Qualified queue key, `${prefix}:${queueName}`. */
  queue: string;
}

/** One BullMQ queue per configured model, for producers (API) and for workers that re-route. */
export class ModelQueues {
  private readonly queues = new Map<string, Queue>();
  /** True on a Redis Cluster, where a flow's jobs must share one queue (one hash tag). */
  readonly cluster: boolean;

  constructor(
    readonly config: OrchexConfig,
    readonly connection: RedisClient,
    readonly prefix: string = DEFAULT_PREFIX,
  ) {
    this.cluster = (connection as { isCluster?: boolean }).isCluster === true;
    for (const model of Object.keys(config.models)) {
      const queue = new Queue(queueName(model), { connection, prefix, defaultJobOptions: JOB_OPTIONS });
      queue.on('error', (err) => logConnectionError(`queue ${model}`, err));
      this.queues.set(model, queue);
    }
    this.flows = new FlowProducer({ connection, prefix });
    this.flows.on('error', (err) => logConnectionError('flow producer', err));
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

  /**
   * Adds step `step` of a task to `model`'s queue; idempotent thanks to the deterministic job id. A part of a
   * split task keeps its flow parent, so the reduce still waits for the re-routed step.
   */
  async enqueueStep(
    taskId: string,
    step: number,
    model: string,
    parent?: ParentRef,
    attemptBase?: number,
  ): Promise<void> {
    const data: JobPayload<'step'> = { taskId, step, ...(attemptBase ? { attemptBase } : {}) };
    const queue = this.get(model);
    // On a cluster a flow cannot span hash tags: BullMQ's scripts touch the parent's keys from the child's slot. A
    // part re-routed to another model's queue is therefore added on its own; its reduce, whose dependencies then
    // resolve without it (ignoreDependencyOnFailure on the step it leaves), waits for it in Postgres instead.
    const keepParent = parent && (!this.cluster || parent.queue === queue.qualifiedName);
    await queue.add('step', data, {
      jobId: stepJobId(taskId, step),
      ...(keepParent ? { parent, ignoreDependencyOnFailure: true } : {}),
    });
  }

  /**
   * Adds a split task as one BullMQ flow: the reduce step is the parent and waits for every map step (children).
   * A child that fails for good is moved to the parent's failed dependencies instead of blocking it; the reduce
   * step then sees the failed part in Postgres and fails the task.
   */
  async enqueueFlow(
    reduce: { taskId: string; model: string },
    maps: Array<{ taskId: string; model: string; step?: number }>,
  ): Promise<void> {
    // One MULTI over every node of the flow: on a cluster that is one slot, so the reduce and its maps share a queue.
    if (this.cluster && maps.some((m) => m.model !== reduce.model))
      throw new Error('on a Redis Cluster a flow must keep its parts in one model queue');
    const node = (t: { taskId: string; model: string; step?: number }) => ({
      name: 'step',
      queueName: queueName(t.model),
      prefix: this.prefix,
      data: { taskId: t.taskId, step: t.step ?? 0 } satisfies JobPayload<'step'>,
    });
    await this.flows.add({
      ...node(reduce),
      opts: { ...JOB_OPTIONS, jobId: stepJobId(reduce.taskId, 0) },
      children: maps.map((m) => ({
        ...node(m),
        opts: { ...JOB_OPTIONS, jobId: stepJobId(m.taskId, m.step ?? 0), ignoreDependencyOnFailure: true },
      })),
    });
  }

  // Made with the queues, not at the first split task: its connection's start-up (Redis version check, script
  // loading) held the API's event loop for ~80 ms inside that request.
  private readonly flows: FlowProducer;

  /** Adds many first steps at once (batches): one round trip per model queue and slice of ADD_BULK_SLICE jobs. */
  async enqueueMany(items: Array<{ taskId: string; step: number; model: string }>): Promise<void> {
    const byModel = new Map<string, typeof items>();
    for (const it of items) {
      const list = byModel.get(it.model);
      if (list) list.push(it);
      else byModel.set(it.model, [it]);
    }
    await Promise.all(
      [...byModel].map(async ([model, list]) => {
        // In slices: BullMQ builds a whole addBulk synchronously (10,000 jobs held the API's event loop for ~1 s).
        for (let i = 0; i < list.length; i += ADD_BULK_SLICE) {
          await this.get(model).addBulk(
            list.slice(i, i + ADD_BULK_SLICE).map((it) => ({
              name: 'step',
              data: { taskId: it.taskId, step: it.step } satisfies JobPayload<'step'>,
              opts: { jobId: stepJobId(it.taskId, it.step) },
            })),
          );
        }
      }),
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.all().map((q) => q.close()), this.flows.close()]);
  }
}
