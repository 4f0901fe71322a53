/**
 * BullMQ queue name of a model. The braces make the model name a Redis Cluster hash tag, so each model's keys
 * (`orchex:{gpt-5}:wait`, …, and our limiter keys) live in one slot while different models spread over the cluster.
 */
export function queueName(model: string): string {
  return `{${model}}`;
}

/**
 * A key of a model's own state beside its queue — `${prefix}:{model}:${parts…}` — in the model's hash-tag slot, so a
 * script or MULTI over it and the model's queue or limiter keys stays on one Redis Cluster slot, and models spread
 * over the masters. Per-model state (pending answers, a result cache) builds its keys here.
 */
export function modelSlotKey(prefix: string, model: string, ...parts: Array<string | number>): string {
  return [prefix, queueName(model), ...parts].join(':');
}

/** Default key prefix of every orchex key in Redis. */
export const DEFAULT_PREFIX = 'orchex';

/** Deterministic job id of one step of a task: adding it twice (a crash between two writes) creates one job. */
export function stepJobId(taskId: string, step: number): string {
  return `${taskId}.s${step}`;
}
