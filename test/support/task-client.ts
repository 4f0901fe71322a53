import { expect } from 'vitest';
import type { TestSystem } from './start-system.ts';

/** The API's task JSON, as tests read it. */
export interface TaskJson {
  id: string;
  status: string;
  content: string | null;
  model: string | null;
  cost: number;
  plan: string[];
  current_step: number;
  usage: { inputTokens: { total: number }; outputTokens: { total: number } } | null;
  error: { kind: string; message: string } | null;
  attempts: Array<{
    step: number;
    attempt: number;
    model: string;
    outcome: string;
    error_kind: string | null;
    cost: number;
    latency_ms: number;
    input_tokens: number;
    output_tokens: number;
  }>;
}

/** POST /v1/tasks, expecting 202; returns the id. */
export async function submit(sys: TestSystem, body: Record<string, unknown>): Promise<string> {
  const res = await sys.call('/v1/tasks', { method: 'POST', json: body });
  expect(res.status, await res.clone().text()).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

/** GET /v1/tasks/:id, waiting (in ≤ 60 s slices) until the task is terminal or `timeoutMs` passes. */
export async function waitFor(sys: TestSystem, id: string, timeoutMs = 60_000): Promise<TaskJson> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const wait = Math.max(1, Math.min(60, Math.ceil((deadline - Date.now()) / 1000)));
    const res = await sys.call(`/v1/tasks/${id}?wait=${wait}`);
    expect(res.status).toBe(200);
    const task = (await res.json()) as TaskJson;
    if (['succeeded', 'failed', 'cancelled'].includes(task.status) || Date.now() >= deadline) return task;
  }
}

export async function submitAndWait(
  sys: TestSystem,
  body: Record<string, unknown>,
  timeoutMs?: number,
): Promise<TaskJson> {
  return waitFor(sys, await submit(sys, body), timeoutMs);
}
