export { startTracing, type Tracing, type TracingOptions } from './start-tracing.ts';
export { activeTraceparent, contextOf, inSpan, traceIdOf, tracer } from './task-trace.ts';
