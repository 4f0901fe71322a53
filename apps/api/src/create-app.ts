import { type Logger, type OrchexConfig, preloadTokenizers } from '@orchex/core';
import type { Db } from '@orchex/db';
import type { KeyBudgets, ModelLimitStates, ModelQueues, RedisClient, SignalReader, TaskStreams } from '@orchex/queue';
import express, { type Express } from 'express';
import type { Registry } from 'prom-client';
import { createApiMetrics } from './api-metrics.ts';
import { type KeyId, requireAdmin, requireApiKey } from './auth.ts';
import { batchRoutes } from './batch-routes.ts';
import { budgetRoutes } from './budget-routes.ts';
import { bullBoardRouter } from './bull-board.ts';
import { costRoutes } from './cost-routes.ts';
import { dashboardRoutes } from './dashboard/dashboard-routes.ts';
import { docsRoutes } from './docs/docs-routes.ts';
import { estimateRoute } from './estimate-route.ts';
import { healthRoute } from './health-route.ts';
import { errorHandler, notFound } from './http-errors.ts';
import { metricsRoute } from './metrics-route.ts';
import { noFraming } from './no-framing.ts';
import { chatRoutes } from './openai/chat-routes.ts';
import { JSON_TYPES } from './read-json-body.ts';
import { requestId } from './request-id.ts';
import { requestLog } from './request-log.ts';
import type { RequestPlanner } from './request-planner.ts';
import { taskEventsRoute } from './task-events-route.ts';
import { TASK_BODY_LIMIT, taskRoutes } from './task-routes.ts';
import type { TaskWaiter } from './task-waiter.ts';
import { unexpectedErrorFields } from './unexpected-error-fields.ts';

/** What the API needs; main.ts builds it from the environment, tests build it on their own services. */
export interface AppDeps {
  config: OrchexConfig;
  db: Db;
  redis: RedisClient;
  queues: ModelQueues;
  waiter: TaskWaiter;
  /** The global daily budget and each key's. */
  budget: KeyBudgets;
  /** The per-task answer streams (stream: true tasks). */
  streams: TaskStreams;
  logger: Logger;
  /** Parses and plans submit bodies; startApi owns it (and closes it). */
  planner: RequestPlanner;
  /** The models' measured latency and health (the planner reads them too). */
  signals: SignalReader;
  apiKeys: string[];
  adminKey: string | undefined;
  /** How stored rows name an API key (HMAC under the server's secret; see loadKeyId). */
  keyId: KeyId;
  /** Largest POST /v1/tasks (and /v1/chat/completions) body. Default {@link TASK_BODY_LIMIT}. */
  bodyLimit?: string;
  debugRouting?: boolean;
  /** Each model's live limit state (slots, window counts, pause): /v1/models, the dashboard, Bull Board, metrics. */
  limitStates: ModelLimitStates;
  /** ORCHEX_METRICS_TOKEN: a Bearer token that opens GET /metrics only (the admin key opens it too). */
  metricsToken?: string | undefined;
  /** Registry /metrics serves, shared with in-process workers (`npm start`). Default: the API's own. */
  metricsRegistry?: Registry | undefined;
}

/** Largest JSON body of the routes other than the two submit routes. */
const SMALL_BODY_LIMIT = '64kb';

/** The Express app: health, Bull Board, the /v1 API and the dashboard, with the error handler last. */
export function createApp(deps: AppDeps): Express {
  // The first OpenAI estimate would otherwise pay for loading the encoding tables (~0.3 s).
  preloadTokenizers(Object.values(deps.config.models));
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);

  const metrics = createApiMetrics(deps);
  app.use(requestId, requestLog(deps.logger), metrics.observe);
  app.get('/healthz', healthRoute(deps.redis, deps.db));
  app.get('/metrics', metricsRoute(metrics, [deps.metricsToken, deps.adminKey]));
  app.use(docsRoutes());
  app.use(['/admin/queues', '/dashboard'], noFraming);
  app.use('/admin/queues', requireAdmin(deps.adminKey, deps.keyId), bullBoardRouter(deps.queues, deps.limitStates));

  const v1 = express.Router();
  v1.use(requireApiKey(deps.apiKeys, deps.adminKey, deps.keyId));
  // The submit routes read their bodies as bytes and plan them through the planner; before the JSON parser.
  v1.use(batchRoutes(deps));
  v1.use(estimateRoute(deps));
  v1.get('/tasks/:id/events', taskEventsRoute(deps));
  // OpenAI-compatible routes (POST /v1/chat/completions, GET /v1/models), with OpenAI's error shape; the body goes
  // through the planner like a task's.
  v1.use(chatRoutes({ ...deps, debugRouting: deps.debugRouting ?? false }));
  v1.use(
    taskRoutes({
      config: deps.config,
      db: deps.db,
      queues: deps.queues,
      waiter: deps.waiter,
      logger: deps.logger,
      debugRouting: deps.debugRouting ?? false,
      planner: deps.planner,
      bodyLimit: deps.bodyLimit ?? TASK_BODY_LIMIT,
    }),
  );
  // The other JSON bodies are a few fields (PUT /v1/budget): a small limit keeps their one synchronous parse short.
  v1.use(express.json({ limit: SMALL_BODY_LIMIT, type: JSON_TYPES }));
  v1.use(budgetRoutes(deps.budget, deps.config, deps.apiKeys, deps.keyId));
  v1.use(costRoutes(deps));
  app.use('/v1', v1);
  app.use('/dashboard', requireAdmin(deps.adminKey, deps.keyId), dashboardRoutes({ ...deps, api: v1 }));

  app.use(notFound);
  app.use(errorHandler((err) => deps.logger.error(unexpectedErrorFields(err), 'unhandled')));
  return app;
}
