import { fillTemplate, isTerminal, type TaskError } from '@orchex/core';
import type { TaskWithAttempts } from '@orchex/db';
import type { StepDeps } from './step-deps.ts';

/** What a reduce part can do now: run with its prompt, wait for a map part, or fail because one failed. */
export type ReduceInput =
  | { ready: true; prompt: string }
  | { ready: false; waitMs: number }
  | { ready: false; failed: { error: TaskError; parentError: TaskError } };

/**
 * The reduce part's prompt: the reduce template filled with every map part's answer, in chunk order. BullMQ runs
 * the reduce only after its children; a map part re-routed to another queue is a child too, but if one is still
 * not terminal (a race with its re-route, or a reduce job the orphan sweep re-added on its own) the reduce waits and
 * looks again; a map part that failed fails the task.
 */
export async function reduceInput(deps: StepDeps, task: TaskWithAttempts): Promise<ReduceInput> {
  const maps = (await deps.reader.parts(task.parentTaskId as string)).filter((p) => p.partKind === 'map');
  if (maps.some((m) => !isTerminal(m.status))) return { ready: false, waitMs: 2000 };
  const failed = maps.find((m) => m.status !== 'succeeded');
  if (failed) {
    const part = `part ${(failed.partIndex ?? 0) + 1}`;
    const error: TaskError = {
      kind: failed.error?.kind ?? 'server',
      message: failed.error?.message ?? `${part} did not succeed`,
    };
    return {
      ready: false,
      failed: { error, parentError: { kind: error.kind, message: `${part} failed: ${error.message}` } },
    };
  }
  const notes = maps.map((m, i) => `Part ${i + 1}:\n${m.resultText ?? ''}`).join('\n\n');
  return {
    ready: true,
    prompt: fillTemplate(deps.config.long_context.reduce_prompt, { count: maps.length, prompt: task.prompt, notes }),
  };
}
