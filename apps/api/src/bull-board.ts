import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { ModelLimitState, ModelLimitStates, ModelQueues } from '@orchex/queue';
import type { Queue } from 'bullmq';
import type { Router } from 'express';

/**
 * Bull Board's adapter for one model's queue, telling the truth about its limits. Bull Board reads a queue's "rate
 * limited" from BullMQ's limiter key alone; here it is the model's real pause (a provider's 429, or its limits full),
 * and the queue's description shows the live limit state. Bull Board reads the description right after the rate
 * limit of the same request, so each refresh of the page shows a fresh state.
 */
class ModelQueueAdapter extends BullMQAdapter {
  private live = '';

  constructor(
    queue: Queue,
    private readonly model: string,
    private readonly states: ModelLimitStates,
  ) {
    super(queue, { readOnlyMode: false });
  }

  override async getActiveRateLimitTtl(): Promise<number> {
    try {
      const s = await this.states.read(this.model);
      this.live = describeLimits(s);
      return s.pausedForMs;
    } catch {
      this.live = 'limits: unavailable (Redis)';
      return 0;
    }
  }

  override getDescription(): string {
    return this.live;
  }
}

/** "in flight 1/4 · 12/120 requests · 3000/100000 tokens per 61 s window · paused 12 s" — what an operator checks. */
export function describeLimits(s: ModelLimitState): string {
  const window = `${Math.round(s.windowMs / 1000)} s window`;
  const parts = [
    `in flight ${s.slotsInUse}/${s.maxConcurrency}`,
    `${s.requestsInWindow}/${s.rpm} requests`,
    s.tpm === null ? `${s.tokensInWindow} tokens per ${window}` : `${s.tokensInWindow}/${s.tpm} tokens per ${window}`,
  ];
  if (s.pausedForMs > 0) parts.push(`paused ${Math.ceil(s.pausedForMs / 1000)} s`);
  return `${s.limited ? 'LIMITED · ' : ''}${parts.join(' · ')}`;
}

/** Bull Board over every model queue, mounted at `basePath` (auth is the caller's job). */
export function bullBoardRouter(queues: ModelQueues, states: ModelLimitStates, basePath = '/admin/queues'): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(basePath);
  createBullBoard({
    queues: Object.keys(queues.config.models).map((m) => new ModelQueueAdapter(queues.get(m), m, states)),
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
