// drizzle-kit loads this file on its own: at runtime it imports only the dependency-free vocabulary of @orchex/core.
import type { ChatMessage, Usage } from '@orchex/core';
import { TASK_STATUSES, type TaskError, type TaskStatus } from '@orchex/core/vocabulary';
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  date,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

/** How one attempt (one model call) ended. */
export const ATTEMPT_OUTCOMES = ['succeeded', 'failed'] as const;

/** How one attempt ended. */
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/** Generation parameters stored with a task (the prompt lives in its own columns). */
export interface TaskParams {
  /** Output token limit for every model in the plan. */
  maxTokens: number;
  /** Sampling temperature; provider default when absent. */
  temperature?: number;
  /** Per-call deadline in seconds; the config's orchestrator.timeout when absent. */
  timeoutSec?: number;
  /** The caller's small JSON object, returned as given. */
  metadata?: Record<string, unknown>;
  /** Nucleus sampling; provider default when absent. */
  topP?: number;
  /** Sequences that end the answer. */
  stop?: string[];
  /** Stream the answer as it is written (the worker appends deltas to the task's Redis stream). */
  stream?: boolean;
  /** Seconds the answer is kept in the result cache; absent = not cached (decided at submit: the task or its rule). */
  cacheTtlSec?: number;
  /**
   * W3C traceparent of the submit span (only when tracing is on): every step of the task, on any worker, continues
   * this trace, and the task's record shows its trace id.
   */
  traceparent?: string;
  /** x-request-id of the request that submitted the task, so the worker's log lines of the task carry it too. */
  requestId?: string;
  /**
   * Input tokens counted at submit for each model of the plan (estimateInputTokens over the same messages the worker
   * sends): the worker's holds and tpm reservations reuse them, so a worker never loads a tokenizer's tables (~50 MB)
   * for a task the API counted. Absent on split tasks' parts and older rows: the worker counts.
   */
  inputTokens?: Record<string, number>;
}

// Text plus a CHECK rather than a pg enum: adding a status later is one constraint swap inside the migration's
// transaction, whereas ALTER TYPE ... ADD VALUE cannot be used in the transaction that adds it.
const inList = (values: readonly string[]) => sql.raw(values.map((v) => `'${v}'`).join(', '));

/** One submitted task: its input, its routing plan, and (once terminal) its result and total cost. */
export const tasks = pgTable(
  'tasks',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** A hash id of the caller's API key, never the key itself. */
    apiKeyId: text('api_key_id').notNull(),
    idempotencyKey: text('idempotency_key'),
    /**
     * SHA-256 of the canonical request (validated input, sorted keys) when an idempotency key was given: a reuse of the
     * key with a different request is refused (409) instead of answered with this task. Null on older rows.
     */
    requestHash: text('request_hash'),
    batchId: uuid('batch_id'),
    /** Position within its batch (submission order), for paging results in order. */
    batchIndex: integer('batch_index'),
    /** Set on the parts of a split long-context task: the task they belong to. */
    parentTaskId: uuid('parent_task_id'),
    /** 'map' (one chunk) or 'reduce' (combines the chunk answers) for parts; null for ordinary tasks. */
    partKind: text('part_kind').$type<'map' | 'reduce'>(),
    /** Chunk number of a map part. */
    partIndex: integer('part_index'),
    status: text('status').$type<TaskStatus>().notNull().default('queued'),
    taskType: text('task_type'),
    /** What is asked: the prompt, or for a conversation the text of its last user turn. */
    prompt: text('prompt').notNull(),
    /** A conversation (system, user and assistant turns) instead of the prompt; null for a plain prompt. */
    messages: jsonb('messages').$type<ChatMessage[]>(),
    context: text('context'),
    system: text('system'),
    params: jsonb('params').$type<TaskParams>().notNull(),
    /** Model names to try in order; currentStep indexes into it. */
    plan: jsonb('plan').$type<string[]>().notNull(),
    routingReason: text('routing_reason').notNull(),
    currentStep: integer('current_step').notNull().default(0),
    /** The model that produced the result. */
    model: text('model'),
    resultText: text('result_text'),
    finishReason: text('finish_reason'),
    usage: jsonb('usage').$type<Usage>(),
    /** Sum over all attempts, in micro-dollars. */
    costMicros: bigint('cost_micros', { mode: 'number' }).notNull().default(0),
    estimatedCostMicros: bigint('estimated_cost_micros', { mode: 'number' }).notNull().default(0),
    /** Answered from the result cache: no model call, cost 0. */
    cached: boolean('cached').notNull().default(false),
    /** For a cached answer, what its original call cost: what the cache saved. */
    savedCostMicros: bigint('saved_cost_micros', { mode: 'number' }).notNull().default(0),
    error: jsonb('error').$type<TaskError>(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    // The database's clock, not the writer's, so rows written by different hosts order consistently.
    updatedAt: timestamp('updated_at', { withTimezone: true })
      .notNull()
      .defaultNow()
      .$onUpdate(() => sql`now()`),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    /** The A/B variant of its routing rule the task was assigned to (GET /v1/costs/report?group_by=variant). */
    variant: text('variant'),
    /**
     * When retention (ORCHEX_RETENTION_DAYS) emptied this finished task: its prompt, context, conversation and answer
     * are gone and its attempts deleted; status, model, usage, cost and times stay, and cost_rollups keep the money.
     */
    purgedAt: timestamp('purged_at', { withTimezone: true }),
  },
  (t) => [
    // Indexes on a column most tasks leave NULL (an idempotency key, a batch, a parent) are partial, and the sweep's
    // work list holds only tasks in progress: every row version of a task — its insert, its claim, its answer — adds
    // an entry to each full index (those two updates cannot be HOT: `status` is indexed), so each full index of a
    // column that is NULL for most rows cost every task three entries that nothing ever looks up. A partial index
    // serves `col = $1` (a strict operator implies NOT NULL) and `status = 'running'` (implies the IN list); the task
    // insert's ON CONFLICT DO NOTHING names no target, so it covers the partial unique index too.
    uniqueIndex('tasks_api_key_idempotency_key_uq')
      .on(t.apiKeyId, t.idempotencyKey)
      .where(sql`${t.idempotencyKey} is not null`),
    index('tasks_api_key_created_at_idx').on(t.apiKeyId, t.createdAt.desc()),
    // The sweep's work list (findInProgressTasks): in progress, oldest first; a finished task's version leaves it.
    index('tasks_in_progress_idx').on(t.createdAt, t.id).where(sql`${t.status} in ('queued', 'running')`),
    index('tasks_batch_id_idx').on(t.batchId, t.batchIndex).where(sql`${t.batchId} is not null`),
    index('tasks_parent_task_id_idx').on(t.parentTaskId).where(sql`${t.parentTaskId} is not null`),
    index('tasks_variant_created_at_idx').on(t.variant, t.createdAt).where(sql`${t.variant} is not null`),
    // Retention's work list: finished tasks not yet emptied, oldest first; emptied rows leave the index.
    index('tasks_retention_idx').on(t.finishedAt).where(sql`${t.purgedAt} is null and ${t.finishedAt} is not null`),
    check('tasks_status_check', sql`${t.status} in (${inList(TASK_STATUSES)})`),
  ],
);

/** One model call made for a task. (taskId, step, attempt) is unique, so a redelivered job cannot record twice. */
export const attempts = pgTable(
  'attempts',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    taskId: uuid('task_id')
      .notNull()
      .references(() => tasks.id, { onDelete: 'cascade' }),
    /** Index into the task's plan. */
    step: integer('step').notNull(),
    /** 1-based attempt number within the step. */
    attempt: integer('attempt').notNull(),
    model: text('model').notNull(),
    provider: text('provider').notNull(),
    outcome: text('outcome').$type<AttemptOutcome>().notNull(),
    errorKind: text('error_kind'),
    errorMessage: text('error_message'),
    statusCode: integer('status_code'),
    usage: jsonb('usage').$type<Usage>(),
    inputTokens: integer('input_tokens').notNull().default(0),
    outputTokens: integer('output_tokens').notNull().default(0),
    costMicros: bigint('cost_micros', { mode: 'number' }).notNull().default(0),
    /**
     * True when the outcome is unknown (deadline mid-call, connection lost after sending, unreadable answer): the
     * provider may have billed it, so costMicros is the attempt's worst case, not a reported usage.
     */
    costEstimated: boolean('cost_estimated').notNull().default(false),
    /** The output limit sent with the call: the task's max_tokens, clamped to the model's max_output_tokens. */
    maxTokens: integer('max_tokens'),
    latencyMs: integer('latency_ms').notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
    finishedAt: timestamp('finished_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // Every read of attempts goes by task (a task's attempts, the sweep's last attempt, retention, the A/B report):
    // this index serves them all. The indexes on finished_at and (model, finished_at) served the cost queries before
    // those moved to cost_rollups; unread since, they cost each attempt two index entries (migration 0008).
    unique('attempts_task_step_attempt_uq').on(t.taskId, t.step, t.attempt),
    check('attempts_outcome_check', sql`${t.outcome} in (${inList(ATTEMPT_OUTCOMES)})`),
  ],
);

/** A named group of tasks submitted together; progress is a count over its tasks. */
export const batches = pgTable(
  'batches',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    apiKeyId: text('api_key_id').notNull(),
    name: text('name'),
    idempotencyKey: text('idempotency_key'),
    /** SHA-256 of the canonical batch request (name and validated tasks), as on tasks.request_hash. */
    requestHash: text('request_hash'),
    size: integer('size').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    cancelledAt: timestamp('cancelled_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('batches_api_key_idempotency_key_uq').on(t.apiKeyId, t.idempotencyKey)],
);

/**
 * Spend per UTC day, API key, model and task type, upserted in the same transaction as each attempt, so cost
 * reports read a few thousand rollup rows instead of scanning millions of attempts.
 */
export const costRollups = pgTable(
  'cost_rollups',
  {
    day: date('day', { mode: 'string' }).notNull(),
    apiKeyId: text('api_key_id').notNull(),
    model: text('model').notNull(),
    provider: text('provider').notNull(),
    /** '' when the task had no type. */
    taskType: text('task_type').notNull().default(''),
    requests: integer('requests').notNull().default(0),
    failed: integer('failed').notNull().default(0),
    inputTokens: bigint('input_tokens', { mode: 'number' }).notNull().default(0),
    outputTokens: bigint('output_tokens', { mode: 'number' }).notNull().default(0),
    costMicros: bigint('cost_micros', { mode: 'number' }).notNull().default(0),
    /** Tasks answered from the result cache (not counted in requests: no call was made). */
    cacheHits: integer('cache_hits').notNull().default(0),
    /** What those answers' original calls cost: the cache's saving. */
    savedMicros: bigint('saved_micros', { mode: 'number' }).notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.day, t.apiKeyId, t.model, t.taskType] }),
    index('cost_rollups_api_key_day_idx').on(t.apiKeyId, t.day),
  ],
);

/**
 * Server-wide settings that must outlive Redis: the runtime daily budget limit (`PUT /v1/budget`) and the secret
 * that API key ids are derived with. Postgres is their authority; Redis caches some of them.
 */
export const settings = pgTable('settings', {
  key: text('key').primaryKey(),
  value: jsonb('value').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** A batches row as read. */
export type BatchRow = typeof batches.$inferSelect;
/** A cost_rollups row as read. */
export type CostRollupRow = typeof costRollups.$inferSelect;

/** A tasks row as read. */
export type TaskRow = typeof tasks.$inferSelect;
/** A tasks row to insert (defaults omitted). */
export type NewTask = typeof tasks.$inferInsert;
/** An attempts row as read. */
export type AttemptRow = typeof attempts.$inferSelect;
/** An attempts row to insert (defaults omitted). */
export type NewAttempt = typeof attempts.$inferInsert;
