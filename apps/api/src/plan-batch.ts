import {
  type FieldIssue,
  type ModelSignals,
  type OrchexConfig,
  type PlannedTask,
  planTask,
  safeString,
  type TaskInput,
  taskInputSchema,
  withoutProbes,
  zodIssues,
} from '@orchex/core';
import { z } from 'zod';
import { HttpError, validationError } from './http-errors.ts';

/** Most tasks in one batch. */
export const MAX_BATCH_SIZE = 10_000;
/** Most field issues listed in one 400, so a wholly wrong file does not produce a megabyte of errors. */
const MAX_LISTED_ISSUES = 50;

/** POST /v1/batches body (each task is validated by taskInputSchema, with its index in the field name). */
export const batchBody = z
  .object({
    tasks: z
      .array(z.unknown())
      .min(1, 'needs at least one task')
      .max(MAX_BATCH_SIZE, `at most ${MAX_BATCH_SIZE} tasks`),
    name: safeString(z.string().min(1).max(200, 'at most 200 characters')).optional(),
    idempotency_key: safeString(z.string().min(1).max(200, 'at most 200 characters')).optional(),
  })
  .strict();

/** A batch request, validated and planned. */
export interface PlannedBatch {
  planned: PlannedTask[];
  /** Each task as validated (defaults filled in), for the request hash. */
  inputs: TaskInput[];
  name: string | null;
  idempotencyKey: string | undefined;
}

/**
 * Validates and plans every task through the same planner as POST /v1/tasks (a task whose input fits no model of its
 * plan is split); all-or-nothing. Field names carry the index (`tasks.12.max_tokens`); throws a 400 listing the first
 * {@link MAX_LISTED_ISSUES} problems, or a 422 naming the tasks the planner refuses (too large, over max_per_request).
 */
export function planBatch(body: unknown, config: OrchexConfig, signals: ModelSignals = {}): PlannedBatch {
  const parsed = batchBody.safeParse(body);
  if (!parsed.success) throw validationError(zodIssues(parsed.error));
  const input = parsed.data.tasks;
  const issues: FieldIssue[] = [];
  let badTasks = 0;
  const refused: FieldIssue[] = [];
  const refusedCodes = new Set<string>();
  const planned: PlannedTask[] = [];
  input.forEach((raw, i) => {
    const at = (field: string) => (field === '(root)' ? `tasks.${i}` : `tasks.${i}.${field}`);
    const task = taskInputSchema.safeParse(raw);
    if (!task.success) {
      badTasks++;
      for (const f of zodIssues(task.error)) issues.push({ field: at(f.field), message: f.message });
      return;
    }
    if (task.data.idempotency_key !== undefined) {
      badTasks++;
      issues.push({
        field: at('idempotency_key'),
        message: 'not allowed inside a batch; give the batch an idempotency_key',
      });
      return;
    }
    // A half-open model's probe is one task, not the whole batch.
    const plan = planTask(task.data, config, { signals: planned.length === 0 ? signals : withoutProbes(signals) });
    if (!('refused' in plan)) {
      planned.push(plan);
    } else if (plan.refused.field) {
      badTasks++;
      issues.push({ field: at(plan.refused.field), message: plan.refused.message });
    } else {
      refused.push({ field: `tasks.${i}`, message: plan.refused.message });
      refusedCodes.add(plan.refused.code);
    }
  });
  if (issues.length > 0) {
    const err = validationError(issues.slice(0, MAX_LISTED_ISSUES));
    const more =
      issues.length > MAX_LISTED_ISSUES ? ` (${issues.length - MAX_LISTED_ISSUES} more issues not listed)` : '';
    throw new HttpError(
      400,
      err.code,
      `${badTasks} of ${input.length} tasks are invalid; nothing was accepted: ${err.message}${more}`,
      err.fields,
    );
  }
  if (refused.length > 0) {
    const listed = refused.slice(0, MAX_LISTED_ISSUES);
    // One code when every refusal shares it (e.g. all over max_per_request), else the generic one.
    const code = refusedCodes.size === 1 ? [...refusedCodes][0] : 'task_refused';
    throw new HttpError(
      422,
      code as string,
      `${refused.length} of ${input.length} tasks cannot run; nothing was accepted: ${listed.map((f) => `${f.field}: ${f.message}`).join('; ')}`,
      listed,
    );
  }
  return {
    planned,
    inputs: planned.map((p) => p.input),
    name: parsed.data.name ?? null,
    idempotencyKey: parsed.data.idempotency_key,
  };
}
