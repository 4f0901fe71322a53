import { type Logger, type OrchexConfig, safeErrorText, zodIssues } from '@orchex/core';
import { batchTasksPage, batchVisible, type CancelledTask, cancelBatch, type Db, findBatchSummary } from '@orchex/db';
import { type ModelQueues, type SubmitDeps, stepJobId, submitBatch } from '@orchex/queue';
import { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import { batchView } from './batch-view.ts';
import { HttpError, submitOrUnavailable, validationError } from './http-errors.ts';
import { bodyLimitBytes, readJsonBody } from './read-json-body.ts';
import { RequestPlanner } from './request-planner.ts';
import { taskView } from './task-view.ts';

export { MAX_BATCH_SIZE } from './plan-batch.ts';

/** What the batch routes need (a subset of AppDeps). */
export interface BatchRouteDeps {
  config: OrchexConfig;
  db: Db;
  queues: ModelQueues;
  logger: Logger;
  /** Parses, validates and plans submit bodies (off the event loop when large). Default: one of its own. */
  planner?: RequestPlanner;
  /** ORCHESTRATOR_DEBUG_ROUTING: log each task's plan. Default false. */
  debugRouting?: boolean;
  /** Largest POST /v1/batches body. Default {@link BATCH_BODY_LIMIT}. */
  batchBodyLimit?: string;
}

/** Default body limit of POST /v1/batches: 10,000 tasks of ~6 KB each; larger inputs belong in `context` of fewer tasks. */
export const BATCH_BODY_LIMIT = '64mb';
/** Default and largest page of GET /v1/batches/:id/results. */
const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;

const idParam = z.uuid();
/** GET /v1/batches/:id/results query. */
export const resultsQuery = z
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
  const { db, queues, logger } = deps;
  const planner = deps.planner ?? new RequestPlanner(deps.config);
  const submit: SubmitDeps = { db, queues, logger, debugRouting: deps.debugRouting ?? false };
  const router = Router();
  const bodyLimit = bodyLimitBytes(deps.batchBodyLimit ?? BATCH_BODY_LIMIT);

  const ownerOf = (res: Response) => (res.locals.isAdmin ? undefined : res.locals.apiKeyId);
  const batchId = (req: Request) => {
    const id = idParam.safeParse(req.params.id);
    if (!id.success) throw validationError([{ field: 'id', message: 'must be a batch id (UUID)' }]);
    return id.data;
  };
  const notFound = (id: string) => new HttpError(404, 'not_found', `batch ${id} not found`);

  router.post('/batches', async (req: Request, res: Response) => {
    const body = planner.open('batch');
    await readJsonBody(req, bodyLimit, body);
    const { planned, name, idempotencyKey, requestHash } = await body.end();
    const { batch, created } = await submitOrUnavailable(() =>
      submitBatch(submit, planned, { apiKeyId: res.locals.apiKeyId, name, idempotencyKey, requestHash }),
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
