import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { ModelQueues } from '@orchex/queue';
import type { Router } from 'express';

/** Bull Board over every model queue, mounted at `basePath` (auth is the caller's job). */
export function bullBoardRouter(queues: ModelQueues, basePath = '/admin/queues'): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(basePath);
  createBullBoard({
    queues: queues.all().map((q) => new BullMQAdapter(q, { readOnlyMode: false })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'orchex queues' } },
  });
  // Bull Board answers any error with a 500 carrying the raw message (a Redis outage included); passed on instead,
  // the API's error handler answers: 503 + Retry-After for an outage, 400 for a bad body, else a logged 500.
  serverAdapter.setErrorHandler((err) => {
    throw err;
  });
  return serverAdapter.getRouter() as Router;
}
