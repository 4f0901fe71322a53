import { z } from 'zod';

/**
 * Every job orchex puts on a queue, by name, with the schema of its payload. Payloads carry ids only: prompts and
 * secrets stay in Postgres, so Redis (and Bull Board) never hold user text.
 */
export const jobCatalog = {
  /**
   * Run step `step` of a task's plan on the queue's model. `attemptBase`: attempts this step already made under
   * earlier jobs (set when the sweep re-adds a job), so attempt numbers — and budget holds — stay unique.
   */
  step: z
    .object({ taskId: z.uuid(), step: z.number().int().min(0), attemptBase: z.number().int().min(0).optional() })
    .strict(),
} as const;

export type JobName = keyof typeof jobCatalog;
export type JobPayload<N extends JobName> = z.output<(typeof jobCatalog)[N]>;

/** Parses a job's payload before any work starts; a bad payload is a bug, never retried. */
export function parseJob<N extends JobName>(name: N, data: unknown): JobPayload<N> {
  return jobCatalog[name].parse(data);
}
