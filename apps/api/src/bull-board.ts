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
  return serverAdapter.getRouter() as Router;
}
