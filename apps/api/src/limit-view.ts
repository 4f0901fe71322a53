import type { ModelLimitState } from '@orchex/queue';

/** A model's live limit state as the API shows it (GET /v1/models, the dashboard). */
export function limitView(s: ModelLimitState) {
  return {
    slots_in_use: s.slotsInUse,
    max_concurrency: s.maxConcurrency,
    requests_in_window: s.requestsInWindow,
    rpm: s.rpm,
    tokens_in_window: s.tokensInWindow,
    tpm: s.tpm,
    window_seconds: s.windowMs / 1000,
    paused_until: s.pausedUntilMs === null ? null : new Date(s.pausedUntilMs).toISOString(),
    limited: s.limited,
  };
}

/** The shape of {@link limitView}. */
export type LimitView = ReturnType<typeof limitView>;
