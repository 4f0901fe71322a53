import { AsyncLocalStorage } from 'node:async_hooks';

/** Ids that every log line written while handling one request or one task step carries. */
export interface LogContext {
  /** The request's id (x-request-id, generated when absent). */
  requestId?: string;
  /** The task a worker step runs (or an API route just submitted). */
  taskId?: string;
  /** The OpenTelemetry trace of the request or task, when tracing is on. */
  traceId?: string;
  [field: string]: string | number | undefined;
}

const storage = new AsyncLocalStorage<LogContext>();

/**
 * Runs `fn` with `fields` added to the log context: every line any logger from createLogger writes inside it (in
 * this package or another, before or after an await) carries them, without passing a child logger around.
 */
export function withLogContext<T>(fields: LogContext, fn: () => T): T {
  return storage.run({ ...storage.getStore(), ...fields }, fn);
}

/** Adds fields to the current context (e.g. the task id once a submit has made it); no-op outside one. */
export function addLogContext(fields: LogContext): void {
  const store = storage.getStore();
  if (store) Object.assign(store, fields);
}

/** The current context's fields ({} outside any). */
export function logContext(): LogContext {
  return storage.getStore() ?? {};
}
