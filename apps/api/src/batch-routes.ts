import {
  type FieldIssue,
  type Logger,
  type OrchexConfig,
  type PlannedTask,
  planTask,
  safeErrorText,
  taskInputSchema,
  zodIssues,
} from '@orchex/core';
import { batchTasksPage, batchVisible, type CancelledTask, cancelBatch, type Db, findBatchSummary } from '@orchex/db';
import { type ModelQueues, type SubmitDeps, stepJobId, submitBatch } from '@orchex/queue';
import express, { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import { batchView } from './batch-view.ts';
import { HttpError, submitOrUnavailable, validationError } from './http-errors.ts';
import { taskView } from './task-view.ts';

/** What the batch routes need (a subset of AppDeps). */
export interface BatchRouteDeps {
  config: OrchexConfig;
  db: Db;
  queues: ModelQueues;
  logger: Logger;
  /** ORCHESTRATOR_DEBUG_ROUTING: log each task's plan. Default false. */
  debugRouting?: boolean;
  /** Largest POST /v1/batches body. Default {@link BATCH_BODY_LIMIT}. */
  batchBodyLimit?: string;
}

/** Most tasks in one batch. */
export const MAX_BATCH_SIZE = 10_000;
/** Default body limit of POST /v1/batches: 10,000 tasks of ~6 KB each; larger inputs belong in `context` of fewer tasks. */
export const BATCH_BODY_LIMIT = '64mb';
/** Most field issues listed in one 400, so a wholly wrong file does not produce a megabyte of errors. */
const MAX_LISTED_ISSUES = 50;
/** Default and largest page of GET /v1/batches/:id/results. */
const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;

const batchBody = z
  .object({
    tasks: z
      .array(z.unknown())
      .min(1, 'needs at least one task')
      .max(MAX_BATCH_SIZE, `at most ${MAX_BATCH_SIZE} tasks`),
    name: z.string().min(1).max(200, 'at most 200 characters').optional(),
    idempotency_key: z.string().min(1).max(200, 'at most 200 characters').optional(),
  })
  .strict();
const idParam = z.uuid();
const resultsQuery = z
  .object({
    cursor: z
      .string()
      .regex(/^\d{1,9}$/, 'must be a next_cursor from an earlier page')
      .optional(),
    limit: z.coerce
      .number()
      .int('must be a whole number')
      .min(1, 'at least 1')
      .max(MAX_PAGE, `at most ${MAX_PAGE}`)
      .default(DEFAULT_PAGE),
  })
  .strict();

/** POST/GET /v1/batches…: many tasks submitted at once, tracked by one count query. */
export function batchRoutes(deps: BatchRouteDeps): Router {
  const { config, db, queues, logger } = deps;
  const submit: SubmitDeps = { db, queues, logger, debugRouting: deps.debugRouting ?? false };
  const router = Router();
  // Mounted before the /v1 JSON parser, so this larger limit applies to this one route only.
  const json = express.json({
    limit: deps.batchBodyLimit ?? BATCH_BODY_LIMIT,
    type: ['application/json', 'application/*+json'],
  });

  const ownerOf = (res: Response) => (res.locals.isAdmin ? undefined : res.locals.apiKeyId);
  const batchId = (req: Request) => {
    const id = idParam.safeParse(req.params.id);
    if (!id.success) throw validationError([{ field: 'id', message: 'must be a batch id (UUID)' }]);
    return id.data;
  };
  const notFound = (id: string) => new HttpError(404, 'not_found', `batch ${id} not found`);

  router.post('/batches', json, async (req: Request, res: Response) => {
    const body = batchBody.safeParse(req.body ?? {});
    if (!body.success) throw validationError(zodIssues(body.error));
    const planned = planTasks(body.data.tasks, config);
    const { batch, created } = await submitOrUnavailable(() =>
      submitBatch(submit, planned, {
        apiKeyId: res.locals.apiKeyId,
        name: body.data.name ?? null,
        idempotencyKey: body.data.idempotency_key,
      }),
    );
    if (!created) {
      res.status(200).set('Idempotent-Replayed', 'true').json({ id: batch.id, size: batch.size });
      return;
    }
    res.status(202).location(`/v1/batches/${batch.id}`).json({ id: batch.id, size: batch.size });
  });

  router.get('/batches/:id', async (req: Request, res: Response) => {
    const id = batchId(req);
    const summary = await findBatchSummary(db, id, ownerOf(res));
    if (!summary) throw notFound(id);
    res.json(batchView(summary));
  });

  router.get('/batches/:id/results', async (req: Request, res: Response) => {
    const id = batchId(req);
    const q = resultsQuery.safeParse(req.query);
    if (!q.success) throw validationError(zodIssues(q.error));
    if (!(await batchVisible(db, id, ownerOf(res)))) throw notFound(id);
    const after = q.data.cursor === undefined ? -1 : Number(q.data.cursor);
    // One row more than asked tells whether another page exists without a count.
    const rows = await batchTasksPage(db, id, after, q.data.limit + 1);
    const page = rows.slice(0, q.data.limit);
    const last = page.at(-1);
    res.json({
      results: page.map((t) => ({ index: t.batchIndex, ...taskView(t) })),
      next_cursor: rows.length > q.data.limit && last ? String(last.batchIndex) : null,
    });
  });

  router.post('/batches/:id/cancel', async (req: Request, res: Response) => {
    const id = batchId(req);
    if (!(await batchVisible(db, id, ownerOf(res)))) throw notFound(id);
    const cancelled = await cancelBatch(db, id);
    res.json({ cancelled: cancelled.length });
    // Best effort, after answering: each removal is an O(waiting) LREM in Redis (seconds for 10,000 jobs), and a
    // job left behind costs little: the worker skips it because its task is terminal.
    void removeJobs(queues, cancelled).catch((err: unknown) =>
      logger.warn({ batchId: id, err: safeErrorText(err) }, 'removing cancelled jobs failed'),
    );
  });

  return router;
}

async function removeJobs(queues: ModelQueues, cancelled: CancelledTask[]): Promise<void> {
  for (let i = 0; i < cancelled.length; i += 500) {
    await Promise.allSettled(
      cancelled.slice(i, i + 500).map((t) => {
        const model = t.plan[t.currentStep];
        return model ? queues.get(model).remove(stepJobId(t.id, t.currentStep)) : undefined;
      }),
    );
  }
}

/**
 * Validates and plans every task through the same planner as POST /v1/tasks (a task whose input fits no model of its
 * plan is split); all-or-nothing. Field names carry the index (`tasks.12.max_tokens`); a 400 lists the first
 * {@link MAX_LISTED_ISSUES} problems, a 422 the tasks the planner refuses (too large, over max_per_request).
 */
function planTasks(input: unknown[], config: OrchexConfig): PlannedTask[] {
  const issues: FieldIssue[] = [];
  let badTasks = 0;
  const refused: FieldIssue[] = [];
  const refusedCodes = new Set<string>();
  const planned: PlannedTask[] = [];
  input.forEach((raw, i) => {
    const at = (field: string) => (field === '(root)' ? `tasks.${i}` : `tasks.${i}.${field}`);
    const parsed = taskInputSchema.safeParse(raw);
    if (!parsed.success) {
      badTasks++;
      for (const f of zodIssues(parsed.error)) issues.push({ field: at(f.field), message: f.message });
      return;
    }
    if (parsed.data.idempotency_key !== undefined) {
      badTasks++;
      issues.push({
        field: at('idempotency_key'),
        message: 'not allowed inside a batch; give the batch an idempotency_key',
      });
      return;
    }
    const plan = planTask(parsed.data, config);
    if (!('refused' in plan)) {
      planned.push(plan);
    } else if (plan.refused.field) {
      badTasks++;
      issues.push({ field: at(plan.refused.field), message: plan.refused.message });
    } else {
      refused.push({ field: `tasks.${i}`, message: plan.refused.message });
      refusedCodes.add(plan.refused.code);
    }
  });
  if (issues.length > 0) {
    const err = validationError(issues.slice(0, MAX_LISTED_ISSUES));
    const more =
      issues.length > MAX_LISTED_ISSUES ? ` (${issues.length - MAX_LISTED_ISSUES} more issues not listed)` : '';
    throw new HttpError(
      400,
      err.code,
      `${badTasks} of ${input.length} tasks are invalid; nothing was accepted: ${err.message}${more}`,
      err.fields,
    );
  }
  if (refused.length > 0) {
    const listed = refused.slice(0, MAX_LISTED_ISSUES);
    // One code when every refusal shares it (e.g. all over max_per_request), else the generic one.
    const code = refusedCodes.size === 1 ? [...refusedCodes][0] : 'task_refused';
    throw new HttpError(
      422,
      code as string,
      `${refused.length} of ${input.length} tasks cannot run; nothing was accepted: ${listed.map((f) => `${f.field}: ${f.message}`).join('; ')}`,
      listed,
    );
  }
  return planned;
}
