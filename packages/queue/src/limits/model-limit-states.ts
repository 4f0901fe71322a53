import type { OrchexConfig } from '@orchex/core';
import type { ModelQueues } from '../model-queues.ts';
import type { ModelLimiter } from './model-limiter.ts';

/** One model's limits as they stand right now (Redis's clock), for operators: the dashboard, /v1/models, metrics. */
export interface ModelLimitState {
  model: string;
  /** Calls in flight (live leases) … */
  slotsInUse: number;
  /** … of max_concurrency. */
  maxConcurrency: number;
  /** Requests started in the sliding window (windowMs plus the limiter's margin) … */
  requestsInWindow: number;
  /** … of rpm. */
  rpm: number;
  /** Tokens reserved or settled in the window … */
  tokensInWindow: number;
  /** … of tpm; null = no token limit. */
  tpm: number | null;
  /** Length of the window the counts cover, ms (60000 unless tests shorten it, plus the margin). */
  windowMs: number;
  /** Until when (epoch ms) the model's queue is paused — a provider's 429 or full limits — or null. */
  pausedUntilMs: number | null;
  /** How much of that pause is left, ms; 0 = not paused. */
  pausedForMs: number;
  /** Paused, or a limit is full right now: the next call would wait. */
  limited: boolean;
}

/**
 * Reads each model's live limit state: the limiter's window and leases, and BullMQ's pause of the model's queue. A
 * pause is only what `queue.rateLimit()` set (its counter holds MAX_SAFE_INTEGER), never a count of jobs fetched.
 */
export class ModelLimitStates {
  constructor(
    private readonly config: OrchexConfig,
    private readonly queues: ModelQueues,
    private readonly limiter: ModelLimiter,
  ) {}

  /** Every configured model, in config order. */
  async all(): Promise<ModelLimitState[]> {
    return Promise.all(Object.keys(this.config.models).map((m) => this.read(m)));
  }

  async read(model: string): Promise<ModelLimitState> {
    const m = this.config.models[model];
    if (!m) throw new Error(`unknown model "${model}"`);
    const [w, pauseMs] = await Promise.all([this.limiter.windowState(model), pausedForMs(this.queues, model)]);
    const tpm = m.tpm ?? null;
    const pausedUntilMs = pauseMs > 0 ? w.nowMs + pauseMs : null;
    return {
      model,
      slotsInUse: w.inFlight,
      maxConcurrency: m.max_concurrency,
      requestsInWindow: w.requests,
      rpm: m.rpm,
      tokensInWindow: w.tokens,
      tpm,
      windowMs: w.spanMs,
      pausedUntilMs,
      pausedForMs: pauseMs,
      limited:
        pausedUntilMs !== null ||
        w.inFlight >= m.max_concurrency ||
        w.requests >= m.rpm ||
        (tpm !== null && w.tokens >= tpm),
    };
  }
}

/**
 * Milliseconds left of a `queue.rateLimit()` pause of the model's queue, else 0. Asking with maxJobs =
 * MAX_SAFE_INTEGER makes BullMQ report the TTL only when the counter reached it, which only a pause does.
 */
export async function pausedForMs(queues: ModelQueues, model: string): Promise<number> {
  const ttl = await queues.get(model).getRateLimitTtl(Number.MAX_SAFE_INTEGER);
  return ttl > 0 ? ttl : 0;
}
