import { context, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ProviderError } from '@orchex/core';
import type { GenerateResult } from '@orchex/providers';
import { DelayedError, type Job, RateLimitError, UnrecoverableError } from 'bullmq';
import type { StepRun } from '../step/load-step.ts';
import { contextOf, tracer } from './task-trace.ts';

/** GenAI semantic conventions' names of the providers orchex ships (others keep their configured name). */
const GEN_AI_SYSTEM: Record<string, string> = {
  anthropic: 'anthropic',
  openai: 'openai',
  google: 'gcp.gemini',
  ollama: 'ollama',
};

/**
 * One attempt of a step as a span, child of the task's submit span (its traceparent is kept with the task, so the
 * trace crosses processes and survives re-routes and re-adds). BullMQ's control errors are how a step hands its job
 * back, not failures: the span records which (delayed, queue paused, ended) and is an error only when the task
 * failed.
 */
export async function inStepSpan<T>(run: StepRun, job: Job, fn: () => Promise<T>): Promise<T> {
  const traceparent = run.task.params.traceparent;
  const span = tracer().startSpan(
    `orchex step ${run.modelName}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'orchex.task_id': run.task.id,
        'orchex.step': run.step,
        'orchex.attempt': run.attempt,
        'orchex.model': run.modelName,
        'messaging.system': 'bullmq',
        'messaging.message.id': job.id ?? '',
      },
    },
    contextOf(traceparent),
  );
  try {
    const result = await context.with(trace.setSpan(context.active(), span), fn);
    span.setAttribute('orchex.outcome', 'succeeded');
    return result;
  } catch (err) {
    const outcome = handBackOutcome(err);
    span.setAttribute('orchex.outcome', outcome);
    if (err instanceof UnrecoverableError) span.setAttribute('orchex.reason', err.message);
    // Delays, pauses and re-routes are the ladder working; the task failing (or an unexpected error) is an error.
    if (outcome === 'ended' || outcome === 'error') span.setStatus({ code: SpanStatusCode.ERROR });
    throw err;
  } finally {
    span.end();
  }
}

function handBackOutcome(err: unknown): string {
  if (err instanceof DelayedError) return 'delayed';
  if (err instanceof RateLimitError) return 'queue_paused';
  if (err instanceof UnrecoverableError) return err.message.startsWith('re-routed') ? 'rerouted' : 'ended';
  return 'error';
}

/** The model call as a GenAI client span ("chat {model}"), with the request's and the answer's attributes. */
export async function inCallSpan<T extends { ok: true; result: GenerateResult } | { ok: false; error: ProviderError }>(
  run: StepRun,
  request: { maxTokens: number; temperature?: number | undefined; topP?: number | undefined; stream: boolean },
  fn: () => Promise<T>,
): Promise<T> {
  const provider = run.modelConfig.provider;
  const span: Span = tracer().startSpan(`chat ${run.modelConfig.model_id}`, {
    kind: SpanKind.CLIENT,
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.system': GEN_AI_SYSTEM[provider] ?? provider,
      'gen_ai.provider.name': GEN_AI_SYSTEM[provider] ?? provider,
      'gen_ai.request.model': run.modelConfig.model_id,
      'gen_ai.request.max_tokens': request.maxTokens,
      ...(request.temperature !== undefined ? { 'gen_ai.request.temperature': request.temperature } : {}),
      ...(request.topP !== undefined ? { 'gen_ai.request.top_p': request.topP } : {}),
      'orchex.model': run.modelName,
      'orchex.stream': request.stream,
    },
  });
  try {
    const call = await context.with(trace.setSpan(context.active(), span), fn);
    if (call.ok) {
      const { usage, finishReason, response } = call.result;
      span.setAttributes({
        'gen_ai.response.finish_reasons': [finishReason.unified],
        'gen_ai.usage.input_tokens': usage.inputTokens.total,
        'gen_ai.usage.output_tokens': usage.outputTokens.total,
        ...(response.modelId ? { 'gen_ai.response.model': response.modelId } : {}),
        ...(response.id ? { 'gen_ai.response.id': response.id } : {}),
      });
    } else {
      // The kind and status only: a provider's message may quote the request.
      span.setAttributes({
        'error.type': call.error.kind,
        ...(call.error.statusCode ? { 'http.response.status_code': call.error.statusCode } : {}),
      });
      span.setStatus({ code: SpanStatusCode.ERROR, message: call.error.kind });
    }
    return call;
  } finally {
    span.end();
  }
}
