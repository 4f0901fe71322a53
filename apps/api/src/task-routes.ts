import {
  type Logger,
  microsToUsd,
  type OrchexConfig,
  preloadTokenizers,
  RoutingError,
  route,
  taskInputSchema,
  zodIssues,
} from '@orchex/core';
import {
  type Db,
  deleteTask,
  findByIdempotencyKey,
  findParts,
  findTask,
  insertTask,
  TERMINAL_STATUSES,
} from '@orchex/db';
import { type ModelQueues, planSplit, submitSplitTask, taskParams } from '@orchex/queue';
import { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import { HttpError, validationError } from './http-errors.ts';
import { overMaxPerRequest, worstCaseOnFirst } from './preflight-cost.ts';
import { taskView } from './task-view.ts';
import type { TaskWaiter } from './task-waiter.ts';

export interface TaskRouteDeps {
  config: OrchexConfig;
  db: Db;
  queues: ModelQueues;
  waiter: TaskWaiter;
  logger: Logger;
  debugRouting: boolean;
}

/** Longest `?wait=` accepted, seconds: long enough for most calls, short enough for proxies' idle timeouts. */
export const MAX_WAIT_SECONDS = 120;

const getQuery = z
  .object({
    wait: z.coerce
      .number()
      .min(0, 'must be ≥ 0')
      .max(MAX_WAIT_SECONDS, `at most ${MAX_WAIT_SECONDS} seconds`)
      .optional(),
  })
  .strict();
const idParam = z.uuid('must be a task id (UUID)');
const isTerminal = (s: string) => (TERMINAL_STATUSES as readonly string[]).includes(s);

export function taskRoutes(deps: TaskRouteDeps): Router {
  const { config, db, queues, logger } = deps;
  const router = Router();
  // The first OpenAI estimate would otherwise pay for loading the encoding tables (~0.3 s).
  preloadTokenizers(Object.values(config.models));

  router.post('/tasks', async (req: Request, res: Response) => {
    const parsed = taskInputSchema.safeParse(req.body ?? {});
    if (!parsed.success) throw validationError(zodIssues(parsed.error));
    const input = parsed.data;
    let plan: ReturnType<typeof route>;
    try {
      plan = route(input, config);
    } catch (err) {
      if (err instanceof RoutingError) throw validationError([{ field: err.field, message: err.message }]);
      throw err;
    }
    const first = plan.plan[0] as string;
    const firstModel = config.models[first]!;
    // route() puts models that fit first: if plan[0] cannot hold the input, none can, and the context is split.
    const split =
      plan.inputTokens + input.max_tokens > firstModel.max_tokens ? planSplit(input, plan.plan, config) : undefined;
    if (split && 'error' in split) throw new HttpError(422, 'input_too_large', split.error);
    if (split && !input.context) {
      throw new HttpError(
        422,
        'input_too_large',
        `the prompt alone exceeds every model's window in the plan (${plan.plan.join(', ')})`,
      );
    }
    const estimate = split ? split.worstCaseMicros : worstCaseOnFirst(input, firstModel);
    const over = overMaxPerRequest(estimate, first, config);
    if (over) throw new HttpError(422, 'over_max_per_request', over);
    if (deps.debugRouting) {
      logger.info({ plan: plan.plan, strategy: plan.strategy, reason: plan.reason }, 'routing');
    }
    if (split) {
      const existing = input.idempotency_key
        ? await findByIdempotencyKey(db, res.locals.apiKeyId, input.idempotency_key)
        : null;
      if (existing) {
        res.status(200).set('Idempotent-Replayed', 'true').json(taskView(existing));
        return;
      }
      let parent: Awaited<ReturnType<typeof submitSplitTask>>;
      try {
        parent = await submitSplitTask(db, queues, split, {
          apiKeyId: res.locals.apiKeyId,
          idempotencyKey: input.idempotency_key ?? null,
          input,
          plan: plan.plan,
          routingReason: plan.reason,
          taskType: plan.taskType,
        });
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'split task not accepted');
        throw new HttpError(
          503,
          'queue_unavailable',
          'the task could not be stored and enqueued; nothing was accepted, retry later',
        );
      }
      res
        .status(202)
        .location(`/v1/tasks/${parent.id}`)
        .json({
          id: parent.id,
          status: parent.status,
          model: first,
          plan: plan.plan,
          task_type: plan.taskType ?? null,
          routing_reason: parent.routingReason,
          parts: split.chunks.length + 1,
          estimated_cost: microsToUsd(estimate),
        });
      return;
    }
    const { task, created } = await insertTask(db, {
      apiKeyId: res.locals.apiKeyId,
      idempotencyKey: input.idempotency_key ?? null,
      taskType: plan.taskType ?? null,
      prompt: input.prompt,
      context: input.context ?? null,
      system: input.system ?? null,
      params: taskParams(input),
      plan: plan.plan,
      routingReason: plan.reason,
      estimatedCostMicros: estimate,
    });
    if (!created) {
      res.status(200).set('Idempotent-Replayed', 'true').json(taskView(task));
      return;
    }
    try {
      await queues.enqueueStep(task.id, 0, first);
    } catch (err) {
      // Not enqueued means not accepted: remove the row so a retry with the same idempotency key starts clean.
      logger.error({ taskId: task.id, err: (err as Error).message }, 'enqueue failed');
      await deleteTask(db, task.id).catch(() => {});
      throw new HttpError(503, 'queue_unavailable', 'the task queue is unavailable; nothing was accepted, retry later');
    }
    res
      .status(202)
      .location(`/v1/tasks/${task.id}`)
      .json({
        id: task.id,
        status: task.status,
        model: first,
        plan: plan.plan,
        task_type: plan.taskType ?? null,
        routing_reason: plan.reason,
        estimated_cost: microsToUsd(estimate),
      });
  });

  router.get('/tasks/:id', async (req: Request, res: Response) => {
    const id = idParam.safeParse(req.params.id);
    if (!id.success) throw validationError([{ field: 'id', message: 'must be a task id (UUID)' }]);
    const q = getQuery.safeParse(req.query);
    if (!q.success) throw validationError(zodIssues(q.error));
    const owner = res.locals.isAdmin ? undefined : res.locals.apiKeyId;
    let task = await findTask(db, id.data, owner);
    if (!task) throw new HttpError(404, 'not_found', `task ${id.data} not found`);
    const deadline = Date.now() + (q.data.wait ?? 0) * 1000;
    while (!isTerminal(task.status) && Date.now() < deadline) {
      // Wake on the worker's announcement, or re-check Postgres every 2 s in case an announcement was lost.
      const w = deps.waiter.wait(task.id, Math.min(2000, deadline - Date.now()));
      const fresh = await findTask(db, task.id, owner);
      if (fresh && isTerminal(fresh.status)) {
        w.cancel();
        task = fresh;
        break;
      }
      const closed = new Promise<void>((r) => req.once('close', () => r()));
      await Promise.race([w.done, closed]);
      w.cancel();
      if (req.destroyed) return;
      task = (await findTask(db, task.id, owner)) ?? task;
    }
    // A split task's record lists its parts; only parents (no attempts of their own) need the query.
    const parts = task.attempts.length === 0 && !task.partKind ? await findParts(db, task.id) : [];
    res.json(taskView(task, parts));
  });

  return router;
}
