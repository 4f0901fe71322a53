import type { Attempt } from './types.ts';

/** One problem with an input, named by its dotted path (`max_tokens`, `tasks.12.max_tokens`). */
export interface FieldIssue {
  field: string;
  message: string;
}

/** Base of every error this client throws, so `catch (e) { if (e instanceof OrchexError) … }` catches them all. */
export class OrchexError extends Error {
  override name = 'OrchexError';
}

/** The API could not be reached (connection refused, DNS, reset). */
export class ConnectionError extends OrchexError {
  override name = 'ConnectionError';
  constructor(
    readonly url: string,
    cause: unknown,
  ) {
    super(`cannot reach orchex at ${url}: ${describe(cause)}`, { cause });
  }
}

// fetch wraps the socket error ("fetch failed" → cause ECONNREFUSED …); an AggregateError (IPv4 + IPv6) has no message.
function describe(err: unknown): string {
  const inner = (err as { cause?: { message?: string; code?: string } } | undefined)?.cause;
  return inner?.message || inner?.code || (err instanceof Error ? err.message : String(err));
}

/** The API answered with an error status not covered by a more specific class (401, 404, 503, …). */
export class ApiError extends OrchexError {
  override name = 'ApiError';
  constructor(
    /** HTTP status. */
    readonly status: number,
    /** The API's error code (`not_found`, `unauthorized`, `queue_unavailable`, …). */
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The API refused the input (400, or 422 over `cost_limits.max_per_request`); `fields` names what is wrong. */
export class ValidationError extends ApiError {
  override name = 'ValidationError';
  constructor(
    status: number,
    code: string,
    message: string,
    readonly fields: FieldIssue[],
  ) {
    super(status, code, message);
  }
}

/** A task ended without a result (its plan was exhausted, it was cancelled, …); `attempts` says what was tried. */
export class TaskFailedError extends OrchexError {
  override name = 'TaskFailedError';
  readonly taskId: string | null;
  /** The task's error kind (`rate_limited`, `auth`, `cancelled`, …). */
  readonly kind: string;
  /** Every model call made for the task, in order; empty when none was made or they were not loaded. */
  readonly attempts: Attempt[];
  constructor(init: { taskId: string | null; kind: string; message: string; attempts?: Attempt[] }) {
    super(
      init.taskId
        ? `task ${init.taskId} ${init.kind === 'cancelled' ? 'was cancelled' : 'failed'}: ${init.message}`
        : init.message,
    );
    this.taskId = init.taskId;
    this.kind = init.kind;
    this.attempts = init.attempts ?? [];
  }
}

/** The daily budget (`cost_limits.max_daily_cost` / setBudget) had no room for the task; no model was called for it. */
export class BudgetExceededError extends TaskFailedError {
  override name = 'BudgetExceededError';
}

/** The error a task's `{ kind, message }` stands for. */
export function taskError(
  taskId: string | null,
  error: { kind: string; message: string },
  attempts: Attempt[] = [],
): TaskFailedError {
  const init = { taskId, kind: error.kind, message: error.message, attempts };
  return error.kind === 'budget_exceeded' ? new BudgetExceededError(init) : new TaskFailedError(init);
}
