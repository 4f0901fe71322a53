import { isTerminal, safeErrorText, unavailableDependency } from '@orchex/core';
import type { Job } from 'bullmq';
import { failTask } from './finish-task.ts';
import type { StepDeps } from './step-deps.ts';

// Failures that say nothing about the task: the job lost its lock (a killed worker, a Redis outage) or met an outage
// on its way out. The orphan sweep gives such a task a fresh job instead.
const NOT_THE_TASKS_FAULT = /stalled more than allowable limit|Missing lock for job|Lock mismatch/;

/**
 * A job that failed outside the step's own decisions (a bug past BullMQ's retries, or a job the step refused to run)
 * must not leave its task "running" forever: fail the task if the job was still its current step. Outages and lost
 * locks are left to the orphan sweep, which re-adds the job. Wired to the BullMQ worker's `failed` event.
 */
export async function reconcileFailedJob(deps: StepDeps, job: Job | undefined, err: Error): Promise<void> {
  if (!job) return;
  const finalFailure = err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
  if (!finalFailure || NOT_THE_TASKS_FAULT.test(err.message) || unavailableDependency(err)) return;
  try {
    const { taskId, step } = job.data as { taskId: string; step: number };
    const task = await deps.reader.load(taskId);
    if (!task || task.currentStep !== step || isTerminal(task.status)) return;
    deps.logger.warn({ taskId, step, err: err.message }, 'task failed by an unhandled job failure');
    // err.message is already safe: executeStep rethrows unexpected errors as their safe text.
    await failTask(deps, task, { kind: 'server', message: `internal error: ${err.message}`.slice(0, 2000) });
  } catch (e) {
    deps.logger.warn({ err: safeErrorText(e) }, 'could not reconcile a failed job; the orphan sweep will');
  }
}
