/**
 * orchex's words, defined once. Every package speaks of tasks in these terms:
 *
 * - **task**: one request to a model as a client submitted it (a row in `tasks`); it ends succeeded, failed or cancelled.
 * - **plan**: the model names a task will try, in order (`tasks.plan`); chosen once at submit by the planner.
 * - **step**: a position in the plan; step N runs on model `plan[N]` as one BullMQ job in that model's queue.
 * - **attempt**: one provider call within a step (a row in `attempts`); a step retries on its model, then re-routes.
 * - **part**: a task whose input fits no model of its plan is split: map parts (one per chunk of the context) and one
 *   reduce part that combines their answers; the client sees only the task they belong to (the parent).
 * - **hold**: budget reserved for the worst case of one attempt before the call, settled to the real cost after it.
 * - **slot**: a lease on one of a model's `max_concurrency` in-flight calls, taken right before the call.
 * - **model name** vs **model id**: the name is orchex's config key (`claude-sonnet-5`); the id is what the provider
 *   calls the model (`model_id`).
 */
import type { ErrorKind } from './provider-error.ts';

/** Providers orchex has an adapter for; a model's `provider` is one of them. */
export const PROVIDERS = ['anthropic', 'openai', 'google', 'ollama'] as const;
/** One of PROVIDERS. */
export type ProviderName = (typeof PROVIDERS)[number];

/** Whether a model's provider is a built-in one (not a plugin's). */
export function isProviderName(name: string): name is ProviderName {
  return (PROVIDERS as readonly string[]).includes(name);
}

/** Task types with a routing rule of their own (the seed's table). */
export const TASK_TYPES = ['code', 'research', 'analysis', 'creative', 'simple', 'long_context'] as const;
/** One of TASK_TYPES. */
export type TaskType = (typeof TASK_TYPES)[number];

/**
 * What a routing strategy optimises (docs/routing.md): the cheapest model above a quality floor, the best model,
 * the fastest one by measured latency, or a weighted score of the three.
 */
export const STRATEGIES = ['cost', 'quality', 'speed', 'balanced'] as const;
/** One of STRATEGIES. */
export type Strategy = (typeof STRATEGIES)[number];

/** Every status a task can be in. */
export const TASK_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
/** A task's lifecycle state. */
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** Statuses a task never leaves. */
export const TERMINAL_STATUSES = ['succeeded', 'failed', 'cancelled'] as const satisfies readonly TaskStatus[];
/** One of TERMINAL_STATUSES. */
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];

const terminal: ReadonlySet<string> = new Set(TERMINAL_STATUSES);

/** Whether a task in `status` has ended for good (a worker holding its job must do nothing more). */
export function isTerminal(status: string): status is TerminalStatus {
  return terminal.has(status);
}

/**
 * Why a task ended without an answer, as stored in its `error.kind`: how its last model call failed (a ProviderError
 * kind), `budget_exceeded` when the daily budget could not hold the worst case of any remaining model's call,
 * `cost_limit` when no remaining model's call fits cost_limits.max_per_request (no call was made for either), or
 * `cancelled` when its batch was cancelled before it started.
 */
export type TaskFailureKind = ErrorKind | 'budget_exceeded' | 'cost_limit' | 'cancelled';

/** What a failed task reports. */
export interface TaskError {
  kind: TaskFailureKind;
  /** Human-readable, without prompt or answer text. */
  message: string;
}
