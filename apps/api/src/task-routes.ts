import { addLogContext, type Logger, microsToUsd, type OrchexConfig, zodIssues } from '@orchex/core';
import { type Db, findParts } from '@orchex/db';
import { type ModelQueues, type SubmitDeps, submitTask } from '@orchex/queue';
import { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import { HttpError, submitOrUnavailable, validationError } from './http-errors.ts';
import { bodyLimitBytes, readJsonBody } from './read-json-body.ts';
import { RequestPlanner } from './request-planner.ts';
import { taskView } from './task-view.ts';
import type { TaskWaiter } from './task-waiter.ts';
import { waitForTask } from './wait-for-task.ts';

/** What the task routes need (a subset of AppDeps). */
export interface TaskRouteDeps {
  config: OrchexConfig;
  db: Db;
  queues: ModelQueues;
  waiter: TaskWaiter;
  logger: Logger;
  debugRouting: boolean;
  /** Parses, validates and plans submit bodies (off the event loop when large). Default: one of its own. */
  planner?: RequestPlanner;
  /** Largest POST /v1/tasks body (ORCHEX_BODY_LIMIT). Default {@link TASK_BODY_LIMIT}. */
  bodyLimit?: string;
}

/** Default largest POST /v1/tasks body (ORCHEX_BODY_LIMIT's default). */
export const TASK_BODY_LIMIT = '12mb';

/** Longest `?wait=` accepted, seconds: long enough for most calls, short enough for proxies' idle timeouts. */
export const MAX_WAIT_SECONDS = 120;

/** GET /v1/tasks/:id query. */
export const getQuery = z
  .object({
    wait: z.coerce
      .number()
      .min(0, 'must be ≥ 0')
      .max(MAX_WAIT_SECONDS, `at most ${MAX_WAIT_SECONDS} seconds`)
      .optional(),
  })
  .strict();
const idParam = z.uuid('must be a task id (UUID)');

/** POST /v1/tasks and GET /v1/tasks/:id[?wait=N]. */
export function taskRoutes(deps: TaskRouteDeps): Router {
  const { db } = deps;
  const planner = deps.planner ?? new RequestPlanner(deps.config);
  const bodyLimit = bodyLimitBytes(deps.bodyLimit ?? TASK_BODY_LIMIT);
  const submit: SubmitDeps = { db, queues: deps.queues, logger: deps.logger, debugRouting: deps.debugRouting };
  const router = Router();

  router.post('/tasks', async (req: Request, res: Response) => {
    const body = planner.open('task');
    await readJsonBody(req, bodyLimit, body);
    const { planned: tasks, idempotencyKey, requestHash } = await body.end();
    const planned = tasks[0];
    if (!planned) throw new Error('a task request planned no task');
    const { task, created } = await submitOrUnavailable(() =>
      submitTask(submit, planned, { apiKeyId: res.locals.apiKeyId, idempotencyKey, requestHash }),
    );
    if (!created) {
      res.status(200).set('Idempotent-Replayed', 'true').json(taskView(task));
      return;
    }
    res
      .status(202)
      .location(`/v1/tasks/${task.id}`)
      .json({
        id: task.id,
        status: task.status,
        model: planned.first,
        plan: planned.route.plan,
        task_type: planned.route.taskType ?? null,
        routing_reason: task.routingReason,
        strategy: planned.route.objective ?? null,
        variant: planned.route.variant ?? null,
        ...(planned.split ? { parts: planned.split.chunks.length + 1 } : {}),
        estimated_cost: microsToUsd(planned.estimateMicros),
      });
  });

  router.get('/tasks/:id', async (req: Request, res: Response) => {
    const id = idParam.safeParse(req.params.id);
    if (!id.success) throw validationError([{ field: 'id', message: 'must be a task id (UUID)' }]);
    addLogContext({ taskId: id.data });
    const q = getQuery.safeParse(req.query);
    if (!q.success) throw validationError(zodIssues(q.error));
    const owner = res.locals.isAdmin ? undefined : res.locals.apiKeyId;
    const task = await waitForTask(db, deps.waiter, res, id.data, owner, Date.now() + (q.data.wait ?? 0) * 1000);
    if (task === 'gone') return;
    if (!task) throw new HttpError(404, 'not_found', `task ${id.data} not found`);
    // A split task's record lists its parts; only parents (no attempts of their own) need the query.
    const parts = task.attempts.length === 0 && !task.partKind ? await findParts(db, task.id) : [];
    res.json(taskView(task, parts));
  });

  return router;
}
