import type { Attempt, Task, TaskInfo } from './types.ts';

const toSnake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const toCamel = (k: string) => k.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

/**
 * A client task as the API's JSON. Every key is converted (not only known ones), so a misspelt option reaches the
 * API and comes back as a ValidationError naming it instead of being dropped silently; `metadata` is sent as given.
 */
export function taskToWire(task: Task): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(task)) if (v !== undefined) out[toSnake(k)] = v;
  return out;
}

/** Top-level keys snake_case → camelCase; values untouched (so model names and metadata keys stay as they are). */
export function camelKeys<T>(obj: Record<string, unknown>): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[toCamel(k)] = v;
  return out as T;
}

/** A task view from the API in camelCase, attempts included when present. */
export function taskFromWire(json: Record<string, unknown>): TaskInfo {
  const t = camelKeys<TaskInfo>(json);
  if (Array.isArray(json.attempts))
    t.attempts = (json.attempts as Record<string, unknown>[]).map((a) => camelKeys<Attempt>(a));
  return t;
}
