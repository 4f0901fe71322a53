import { type Logger, microsToUsd, type OrchexConfig, safeErrorText, unavailableDependency } from '@orchex/core';
import type { Db, TaskSummaryWithAttempts } from '@orchex/db';
import {
  type ModelLimitStates,
  type ModelQueues,
  NotAcceptedError,
  type RedisClient,
  type SignalReader,
  type SubmitDeps,
  submitTask,
  type TaskStreams,
} from '@orchex/queue';
import { type NextFunction, type Request, type Response, Router } from 'express';
import { HttpError } from '../http-errors.ts';
import { bodyLimitBytes, JSON_TYPES, readJsonBody } from '../read-json-body.ts';
import type { RequestPlanner } from '../request-planner.ts';
import { followTask } from '../stream-reader.ts';
import { TASK_BODY_LIMIT } from '../task-routes.ts';
import type { TaskWaiter } from '../task-waiter.ts';
import { waitForTask } from '../wait-for-task.ts';
import { relayChatStream } from './chat-stream.ts';
import { completion } from './completion.ts';
import { listModels } from './list-models.ts';
import { OpenAIError } from './openai-error.ts';

/** What the OpenAI-compatible routes need. */
export interface ChatRouteDeps {
  config: OrchexConfig;
  db: Db;
  redis: RedisClient;
  streams: TaskStreams;
  queues: ModelQueues;
  waiter: TaskWaiter;
  logger: Logger;
  debugRouting: boolean;
  /** The models' measured latency and health, shown by GET /v1/models. */
  signals: SignalReader;
  /** Parses and plans request bodies (off the event loop when large). */
  planner: RequestPlanner;
  /** Largest request body. Default {@link TASK_BODY_LIMIT}. */
  bodyLimit?: string;
  /** Live limit state of each model, shown in GET /v1/models. */
  limitStates: ModelLimitStates;
}

/**
 * OpenAI's `POST /v1/chat/completions` and `GET /v1/models`, so any OpenAI client can use orchex as its base URL.
 * Every request is a durable, budgeted task through the same planner and submitter as `POST /v1/tasks`; a client
 * that goes away does not cancel it (its result stays readable under `/v1/tasks/:id`). Errors are in OpenAI's shape.
 */
export function chatRoutes(deps: ChatRouteDeps): Router {
  const { config, db } = deps;
  const bodyLimit = bodyLimitBytes(deps.bodyLimit ?? TASK_BODY_LIMIT);
  const submit: SubmitDeps = { db, queues: deps.queues, logger: deps.logger, debugRouting: deps.debugRouting };
  const router = Router();

  router.get('/models', async (_req: Request, res: Response) => {
    // Health and limits are shown when Redis answers; the list itself never depends on it.
    const [signals, limits] = await Promise.all([
      deps.signals.current().catch(() => undefined),
      deps.limitStates.all().catch(() => null),
    ]);
    res.json({ object: 'list', data: listModels(config, signals, limits) });
  });

  router.post('/chat/completions', async (req: Request, res: Response) => {
    // Read as bytes and planned by the planner (a thread for bodies over 4 KB), like POST /v1/tasks.
    const sink = deps.planner.open('chat');
    if (!req.is(JSON_TYPES)) throw new OpenAIError(415, 'invalid_request_error', 'the body must be JSON');
    await readJsonBody(req, bodyLimit, sink);
    const {
      planned: [planned],
      chat,
    } = await sink.end();
    if (!planned || !chat) throw new Error('a chat request planned no task');
    let taskId: string;
    try {
      taskId = (await submitTask(submit, planned, { apiKeyId: res.locals.apiKeyId })).task.id;
    } catch (err) {
      if (err instanceof NotAcceptedError) throw unavailable('redis');
      throw err;
    }
    res.set('x-orchex-task-id', taskId);
    const owner = res.locals.isAdmin ? undefined : res.locals.apiKeyId;
    if (chat.stream) {
      let gone = false;
      req.once('close', () => {
        gone = true;
      });
      const items = followTask(deps.redis, deps.streams, db, taskId, { afterId: '0', owner, gone: () => gone });
      await relayChatStream(res, items, { taskId, includeUsage: chat.includeUsage, failed });
      return;
    }
    const task = await waitForTask(deps.db, deps.waiter, res, taskId, owner, Number.POSITIVE_INFINITY);
    if (task === 'gone') return; // the client went away; the task goes on
    if (!task) throw new Error(`task ${taskId} vanished after its submit`);
    if (task.status !== 'succeeded') throw failed(task);
    res.set('x-orchex-cost', String(microsToUsd(task.costMicros))).json(completion(task));
  });

  // Errors of these routes only (an error from an earlier /v1 middleware passes through every router after it).
  router.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent || !OPENAI_PATHS.has(req.path)) return next(err);
    let e = err instanceof OpenAIError ? err : undefined;
    // The body reader's refusals (413, 415, a charset) in OpenAI's shape.
    if (!e && err instanceof HttpError) e = new OpenAIError(err.status, 'invalid_request_error', err.message);
    const dependency = e ? undefined : unavailableDependency(err);
    if (!e && dependency) e = unavailable(dependency);
    if (!e) {
      const parse = err as { type?: string; status?: number };
      if (parse?.type === 'entity.parse.failed')
        e = new OpenAIError(400, 'invalid_request_error', 'the body is not valid JSON');
      else if (parse?.type === 'entity.too.large')
        e = new OpenAIError(413, 'invalid_request_error', 'the body is too large');
    }
    if (!e) {
      deps.logger.error({ err: safeErrorText(err) }, 'chat completion failed unexpectedly');
      e = new OpenAIError(500, 'api_error', 'internal error');
    }
    if (e.retryAfterS !== undefined) res.set('Retry-After', String(e.retryAfterS));
    res.status(e.status).json(e.body);
  });
  return router;
}

const OPENAI_PATHS = new Set(['/chat/completions', '/models']);

/** A task that ended without an answer: over a budget → 429 (retry tomorrow), else the models failed → 502. */
function failed(task: TaskSummaryWithAttempts): OpenAIError {
  const kind = task.error?.kind ?? 'server';
  const message = task.error?.message ?? `task ${task.status}`;
  if (kind === 'budget_exceeded') {
    const now = new Date();
    const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
    return new OpenAIError(
      429,
      'insufficient_quota',
      message,
      null,
      kind,
      Math.ceil((midnight - now.getTime()) / 1000),
    );
  }
  if (kind === 'cost_limit') return new OpenAIError(429, 'insufficient_quota', message, null, kind);
  return new OpenAIError(502, 'api_error', message, null, kind);
}

function unavailable(dependency: string): OpenAIError {
  return new OpenAIError(
    503,
    'service_unavailable',
    `${dependency} is unavailable; nothing was lost, retry later`,
    null,
    null,
    5,
  );
}
