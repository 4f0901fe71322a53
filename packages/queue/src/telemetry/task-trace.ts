import {
  type Context,
  context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { safeErrorText } from '@orchex/core';

/** Orchex's tracer; a no-op until a tracer provider is registered (startTracing). */
export const tracer = () => trace.getTracer('orchex');

/**
 * The W3C `traceparent` of the active span, to keep with a task: every later step of the task (on any worker, after
 * re-routes, re-adds by the sweep, or a Redis restart) continues that trace. Undefined when tracing is off.
 */
export function activeTraceparent(): string | undefined {
  const span = trace.getActiveSpan();
  if (!span || !isSpanContextValid(span.spanContext())) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

/** The context a task's step spans start under: its stored traceparent's, else a new root. */
export function contextOf(traceparent: string | undefined): Context {
  return traceparent ? propagation.extract(ROOT_CONTEXT, { traceparent }) : ROOT_CONTEXT;
}

/** The 32-hex trace id in a traceparent (`00-<trace id>-<span id>-<flags>`). */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  return traceparent?.split('-')[1];
}

/**
 * Runs fn inside span (made active), ending it when fn settles. An error marks the span as failed with its class as
 * `error.type` and only its safe text (no SQL, no data: see safeErrorText).
 */
export async function inSpan<T>(span: Span, fn: () => Promise<T>): Promise<T> {
  try {
    return await context.with(trace.setSpan(context.active(), span), fn);
  } catch (err) {
    span.setAttribute('error.type', err instanceof Error ? err.constructor.name : typeof err);
    span.setStatus({ code: SpanStatusCode.ERROR, message: safeErrorText(err) });
    throw err;
  } finally {
    span.end();
  }
}
