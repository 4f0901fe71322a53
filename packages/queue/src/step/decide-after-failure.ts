import { type ErrorKind, isRetryableKind } from '@orchex/core';

/** What a step does after its model call failed. */
export type FailureDecision =
  /** Call the same model again after `delayMs`; `pauseQueue`: the provider throttles the model, so its whole queue waits. */
  | { action: 'retry'; delayMs: number; pauseQueue: boolean }
  /** Give up on this model and run step `nextStep` of the plan on its model. */
  | { action: 'reroute'; nextStep: number }
  /** Nothing left to try: the task fails with this error. */
  | { action: 'fail' };

/** The failed call, as the decision sees it (a ProviderError fits). */
export interface FailedCall {
  kind: ErrorKind;
  /** The provider's own retry hint (retry-after), ms. */
  retryAfterMs?: number | undefined;
}

/** Everything else the decision depends on; all plain values, so the decision is a pure function. */
export interface FailureContext {
  /** Failed calls of this step on its model so far, this one included (1 = the first call failed). */
  tries: number;
  /** orchestrator.max_retries: calls per model beyond the first. */
  maxRetries: number;
  /** orchestrator.enable_fallback. */
  enableFallback: boolean;
  /** The context window (max_tokens) of each model of the plan, in plan order; undefined = no longer configured. */
  windows: ReadonlyArray<number | undefined>;
  /** The step that failed (index into the plan). */
  step: number;
  /** Estimated input + max output tokens of the task, for skipping windows that cannot hold it. */
  neededTokens: number;
  /** Base of the exponential backoff, ms. */
  backoffBaseMs: number;
  /** Longest backoff, ms. Default 60000. */
  backoffCapMs?: number;
  /** Longest wait a provider's retry hint may impose (orchestrator.max_retry_after), ms. Default 60000. */
  maxRetryAfterMs?: number;
  /** Source of jitter in [0, 1); default Math.random (tests pin it). */
  random?: () => number;
}

/**
 * After a failed call: retry the same model while the error is retryable and retries are left (backoff with jitter,
 * never shorter than the provider's hint up to maxRetryAfterMs; a rate limit pauses the model's whole queue); else
 * re-route to the next
 * model of the plan that is still configured (after a context_length failure, only to a larger window that can hold
 * the input); else fail. With enable_fallback off there is no re-route.
 */
export function decideAfterFailure(error: FailedCall, ctx: FailureContext): FailureDecision {
  if (isRetryableKind(error.kind) && ctx.tries <= ctx.maxRetries) {
    const hint =
      error.retryAfterMs === undefined ? undefined : Math.min(error.retryAfterMs, ctx.maxRetryAfterMs ?? 60_000);
    const delayMs = retryDelayMs(ctx.tries, ctx.backoffBaseMs, hint, ctx.backoffCapMs, ctx.random);
    return { action: 'retry', delayMs, pauseQueue: error.kind === 'rate_limited' };
  }
  const nextStep = ctx.enableFallback ? nextUsableStep(error.kind, ctx) : undefined;
  return nextStep === undefined ? { action: 'fail' } : { action: 'reroute', nextStep };
}

function nextUsableStep(kind: ErrorKind, ctx: FailureContext): number | undefined {
  const failedWindow = ctx.windows[ctx.step] ?? 0;
  for (let i = ctx.step + 1; i < ctx.windows.length; i++) {
    const window = ctx.windows[i];
    if (window === undefined) continue;
    // A larger window is the only thing that helps a context_length failure, even if the estimate thought it fit.
    if (kind === 'context_length' && (window < ctx.neededTokens || window <= failedWindow)) continue;
    return i;
  }
  return undefined;
}

/**
 * Delay before retry number `retry` (1-based) on the same model: exponential with "equal jitter" (half fixed, half
 * random, so retries of many tasks spread out) and never shorter than the provider's own retry hint.
 */
export function retryDelayMs(
  retry: number,
  baseMs: number,
  hintMs?: number,
  capMs = 60_000,
  random: () => number = Math.random,
): number {
  const exp = Math.min(capMs, baseMs * 2 ** (retry - 1));
  const jittered = exp / 2 + random() * (exp / 2);
  return Math.ceil(Math.max(hintMs ?? 0, jittered));
}
