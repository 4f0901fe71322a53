import { DelayedError, type Job, RateLimitError, UnrecoverableError } from 'bullmq';
import type { ModelQueues } from '../model-queues.ts';

/** How a step gives its job back to BullMQ when it did not succeed. */
export type Handback =
  /** Run this job again after `ms` (backoff; a reduce waiting for a part). */
  | { kind: 'delay'; ms: number }
  /** The model's limits are full or the provider throttles it: its whole queue waits `ms`, this job included. */
  | { kind: 'pause-queue'; ms: number }
  /** Never run this job again (re-routed, the task ended, or the job is unusable). */
  | { kind: 'end'; reason: string };

/**
 * The only place that throws BullMQ's control errors — DelayedError, RateLimitError, UnrecoverableError — so the
 * step's decisions stay values until this one boundary (bullmq keeps these signals at one boundary too).
 */
export async function handBack(
  queues: ModelQueues,
  job: Job,
  token: string | undefined,
  model: string,
  h: Handback,
): Promise<never> {
  switch (h.kind) {
    case 'delay':
      await job.moveToDelayed(Date.now() + h.ms, token);
      throw new DelayedError();
    case 'pause-queue':
      await queues.get(model).rateLimit(h.ms);
      throw new RateLimitError();
    case 'end':
      throw new UnrecoverableError(h.reason);
  }
}
