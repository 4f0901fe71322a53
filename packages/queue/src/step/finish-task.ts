import type { TaskError } from '@orchex/core';
import type { NewAttempt, StepResult, TaskWithAttempts } from '@orchex/db';
import type { CachedAnswer } from '../cache/result-cache.ts';
import { publishTaskFinished } from '../task-events.ts';
import type { StepDeps } from './step-deps.ts';

/**
 * The one place a task ends. Succeeding records the winning attempt with the result (a reduce part also finishes the
 * split task it belongs to, in the same transaction); failing fails the task and, for a part, its split task. Both
 * announce every task they ended, so `?wait` callers wake at once.
 */
export async function succeedTask(
  deps: StepDeps,
  task: TaskWithAttempts,
  attempt: NewAttempt,
  result: StepResult,
): Promise<void> {
  if (task.partKind === 'reduce' && task.parentTaskId)
    await deps.steps.completeReduce(attempt, result, task.parentTaskId);
  else await deps.steps.recordAttempt(attempt, result);
  await announce(deps, task, 'succeeded');
}

/**
 * Succeeds a task with an answer from the result cache: no attempt (no call was made), cost 0, `cached` and the
 * original call's cost as the saving, written through the same group commit and announced the same way. A streaming
 * task gets the whole answer as one delta before the end.
 */
export async function succeedCached(
  deps: StepDeps,
  run: { task: TaskWithAttempts; attempt: number; modelName: string; modelConfig: { provider: string } },
  answer: CachedAnswer,
): Promise<void> {
  const { task } = run;
  if (task.params.stream) {
    const delta = { type: 'delta' as const, attempt: run.attempt, model: run.modelName, text: answer.resultText };
    await deps.streams.append(task.id, delta).catch(() => {});
  }
  await deps.steps.completeCached(task.id, {
    model: answer.model,
    provider: run.modelConfig.provider,
    resultText: answer.resultText,
    finishReason: answer.finishReason,
    usage: answer.usage,
    savedMicros: answer.costMicros,
  });
  await announce(deps, task, 'succeeded');
}

/**
 * Fails `task`; a part also fails its split task, whose error says which part failed (or `parentError` when the
 * caller knows better, e.g. the reduce part failing because of a map part).
 */
export async function failTask(
  deps: StepDeps,
  task: TaskWithAttempts,
  error: TaskError,
  parentError?: TaskError,
): Promise<void> {
  const part = task.partKind === 'map' ? `part ${(task.partIndex ?? 0) + 1}` : 'the reduce part';
  const parent = task.parentTaskId
    ? { id: task.parentTaskId, error: parentError ?? { kind: error.kind, message: `${part} failed: ${error.message}` } }
    : undefined;
  await deps.steps.fail(task.id, error, parent);
  await announce(deps, task, 'failed');
}

async function announce(deps: StepDeps, task: TaskWithAttempts, status: 'succeeded' | 'failed'): Promise<void> {
  // Best effort, like the announcement: a stream reader also watches the task's record.
  if (task.params.stream) await deps.streams.append(task.id, { type: 'end', status }).catch(() => {});
  // Not awaited: the end is already durable in Postgres and waiters poll it too, so the job need not wait for the
  // message (publishTaskFinished never rejects).
  void publishTaskFinished(deps.redis, deps.prefix, task.id);
  if (task.parentTaskId) void publishTaskFinished(deps.redis, deps.prefix, task.parentTaskId);
}
