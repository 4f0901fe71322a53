import { isTerminal } from '@orchex/core';
import type { Job } from 'bullmq';
import { failTask } from './finish-task.ts';
import type { StepDeps } from './step-deps.ts';

/**
 * A job that failed outside the step's own decisions (a bug, a database outage past its retries, a job stalled
 * too often) must not leave its task "running" forever: fail the task if the job was still its current step.
 * Wired to the BullMQ worker's `failed` event.
 */
export async function reconcileFailedJob(deps: StepDeps, job: Job | undefined, err: Error): Promise<void> {
  if (!job) return;
  const finalFailure = err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
  if (!finalFailure) return;
  try {
    const { taskId, step } = job.data as { taskId: string; step: number };
    const task = await deps.reader.load(taskId);
    if (!task || task.currentStep !== step || isTerminal(task.status)) return;
    deps.logger.warn({ taskId, step, err: err.message }, 'task failed by an unhandled job failure');
    await failTask(deps, task, { kind: 'server', message: `job failed: ${err.message}`.slice(0, 2000) });
  } catch (e) {
    deps.logger.error({ err: (e as Error).message }, 'could not reconcile failed job');
  }
}
