import { microsToUsd } from '@orchex/core';
import type { AttemptRow, PartRow, TaskSummaryRow, TaskSummaryWithAttempts } from '@orchex/db';
import { traceIdOf } from '@orchex/queue';

/** The API's JSON for one attempt. */
export function attemptView(a: AttemptRow) {
  return {
    step: a.step,
    attempt: a.attempt,
    model: a.model,
    provider: a.provider,
    outcome: a.outcome,
    error_kind: a.errorKind,
    error_message: a.errorMessage,
    status_code: a.statusCode,
    latency_ms: a.latencyMs,
    input_tokens: a.inputTokens,
    output_tokens: a.outputTokens,
    cost: microsToUsd(a.costMicros),
    /** True when the call's outcome is unknown and `cost` is its worst case, not reported usage. */
    cost_estimated: a.costEstimated,
    /** The output limit the call was sent with (the task's max_tokens, clamped to the model's max_output_tokens). */
    max_tokens: a.maxTokens,
    started_at: a.startedAt,
    finished_at: a.finishedAt,
  };
}

/**
 * The API's JSON for a task: the seed's result fields (content, model, cost) at the top, details below. A split
 * long-context task also lists its parts, and its cost is theirs added up (also while they still run).
 */
export function taskView(t: TaskSummaryRow | TaskSummaryWithAttempts, parts: PartRow[] = []) {
  const cost = parts.length ? parts.reduce((s, p) => s + p.costMicros, 0) : t.costMicros;
  return {
    id: t.id,
    status: t.status,
    content: t.resultText,
    model: t.model,
    cost: microsToUsd(cost),
    /** Answered from the result cache: no model call, cost 0. */
    cached: t.cached,
    /** What the cached answer's original call cost (0 when not cached). */
    saved_cost: microsToUsd(t.savedCostMicros),
    usage: t.usage,
    finish_reason: t.finishReason,
    error: t.error,
    task_type: t.taskType,
    plan: t.plan,
    current_step: t.currentStep,
    routing_reason: t.routingReason,
    variant: t.variant,
    estimated_cost: microsToUsd(t.estimatedCostMicros),
    max_tokens: t.params.maxTokens,
    metadata: t.params.metadata ?? null,
    batch_id: t.batchId,
    /** The task's OpenTelemetry trace (null when tracing was off at submit). */
    trace_id: traceIdOf(t.params.traceparent) ?? null,
    created_at: t.createdAt,
    started_at: t.startedAt,
    finished_at: t.finishedAt,
    ...('attempts' in t ? { attempts: t.attempts.map(attemptView) } : {}),
    ...(parts.length
      ? {
          parts: parts.map((p) => ({
            id: p.id,
            kind: p.partKind,
            index: p.partIndex,
            status: p.status,
            model: p.model,
            cost: microsToUsd(p.costMicros),
            error: p.error,
          })),
        }
      : {}),
  };
}
