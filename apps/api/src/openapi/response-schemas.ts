import { STRATEGIES, TASK_STATUSES } from '@orchex/core';
import { z } from 'zod';

// The answers of the API as zod schemas: the OpenAPI document is generated from them, and the conformance test
// checks real answers of every route against the document. Views (task-view.ts, batch-view.ts, …) build these
// shapes; a change there that is not made here fails that test.

const timestamp = z.iso.datetime({ offset: true }).describe('ISO 8601 date-time (UTC)');
const usd = z.number().describe('US dollars');

/** `{error: {code, message, fields?}}`: every non-OpenAI error; `fields` names each bad field of a 400. */
export const errorSchema = z.object({
  // Loose: the auth errors of /v1 also carry OpenAI's `type`, so OpenAI clients read them as their own errors.
  error: z.looseObject({
    code: z.string().describe('machine-readable: validation_error, unauthorized, not_found, …'),
    message: z.string(),
    fields: z
      .array(z.object({ field: z.string(), message: z.string() }))
      .optional()
      .describe('each invalid field (400 validation_error)'),
  }),
});

/** OpenAI's error shape, on /v1/chat/completions and /v1/models, so OpenAI SDKs raise their own classes. */
export const openAiErrorSchema = z.object({
  error: z.object({
    message: z.string(),
    type: z.string(),
    param: z.string().nullable().optional(),
    code: z.string().nullable().optional(),
  }),
});

const usageSchema = z.object({
  inputTokens: z.object({
    total: z.number().int(),
    noCache: z.number().int(),
    cacheRead: z.number().int(),
    cacheWrite: z.number().int(),
    cacheWrite1h: z.number().int().optional(),
  }),
  outputTokens: z.object({ total: z.number().int(), reasoning: z.number().int() }),
});

const attemptSchema = z.object({
  step: z.number().int(),
  attempt: z.number().int(),
  model: z.string(),
  provider: z.string(),
  outcome: z.enum(['succeeded', 'failed']),
  error_kind: z.string().nullable(),
  error_message: z.string().nullable(),
  status_code: z.number().int().nullable(),
  latency_ms: z.number().int().nullable(),
  input_tokens: z.number().int().nullable(),
  output_tokens: z.number().int().nullable(),
  cost: usd,
  cost_estimated: z.boolean(),
  max_tokens: z.number().int().nullable(),
  started_at: timestamp.nullable(),
  finished_at: timestamp.nullable(),
});

/** A task's record (GET /v1/tasks/:id). */
export const taskSchema = z.object({
  id: z.uuid(),
  status: z.enum(TASK_STATUSES),
  content: z.string().nullable().describe('the answer, once succeeded'),
  model: z.string().nullable(),
  cost: usd,
  cached: z.boolean().describe('answered from the result cache: no model call, cost 0'),
  saved_cost: usd.describe("what the cached answer's original call cost (0 when not cached)"),
  usage: usageSchema.nullable(),
  finish_reason: z.string().nullable(),
  error: z.object({ kind: z.string(), message: z.string() }).nullable(),
  task_type: z.string().nullable(),
  plan: z.array(z.string()),
  current_step: z.number().int(),
  routing_reason: z.string().nullable(),
  variant: z.string().nullable().describe('the A/B variant of its routing rule, if any'),
  estimated_cost: usd,
  max_tokens: z.number().int(),
  metadata: z.unknown().nullable(),
  batch_id: z.uuid().nullable(),
  trace_id: z.string().nullable().describe('OpenTelemetry trace id (null when tracing was off)'),
  created_at: timestamp,
  started_at: timestamp.nullable(),
  finished_at: timestamp.nullable(),
  attempts: z.array(attemptSchema).optional(),
  parts: z
    .array(
      z.object({
        id: z.uuid(),
        kind: z.string().nullable(),
        index: z.number().int().nullable(),
        status: z.enum(TASK_STATUSES),
        model: z.string().nullable(),
        cost: usd,
        error: z.object({ kind: z.string(), message: z.string() }).nullable(),
      }),
    )
    .optional()
    .describe('a split long-context task: its map and reduce parts'),
});

/** 202 of POST /v1/tasks. */
export const taskAcceptedSchema = z.object({
  id: z.uuid(),
  status: z.enum(TASK_STATUSES),
  model: z.string(),
  plan: z.array(z.string()),
  task_type: z.string().nullable(),
  routing_reason: z.string().nullable(),
  strategy: z.enum(STRATEGIES).nullable().describe('the strategy that ordered the plan; null: the rule as written'),
  variant: z.string().nullable().describe('the A/B variant assigned; null outside an A/B rule'),
  parts: z.number().int().optional(),
  estimated_cost: usd,
});

const perModelSchema = z.object({
  model: z.string(),
  quality: z.number().nullable(),
  input_tokens: z.number().int(),
  max_output_tokens: z.number().int(),
  expected_cost: usd,
  worst_case_cost: usd,
  skipped: z.string().optional(),
});

/** 200 of POST /v1/estimate. */
export const estimateSchema = z.object({
  tasks: z.array(
    z.object({
      model: z.string(),
      plan: z.array(z.string()),
      task_type: z.string().nullable(),
      strategy: z.enum(STRATEGIES).nullable(),
      variant: z.string().nullable(),
      routing_reason: z.string(),
      parts: z.number().int().optional(),
      estimated_cost: usd.describe('exactly what the submit stores: the worst case of the call it starts with'),
      expected_cost: usd.describe("the output priced at the model's recent median answer length"),
      per_model: z
        .array(perModelSchema)
        .optional()
        .describe('one call on each model of the plan (not for a split task)'),
    }),
  ),
  estimated_cost: usd,
  expected_cost: usd,
  budget: z.object({
    day: z.string(),
    remaining: usd.nullable().describe('what this key may still spend today (its own or the global limit); null: none'),
    limited_by: z.enum(['key', 'global']).nullable(),
    fits: z.boolean(),
  }),
});

export const batchAcceptedSchema = z.object({ id: z.uuid(), size: z.number().int() });

export const batchSchema = z.object({
  id: z.uuid(),
  name: z.string().nullable(),
  size: z.number().int(),
  status: z.enum(['running', 'completed', 'cancelled']),
  counts: z.record(z.string(), z.number().int()),
  cost: usd,
  created_at: timestamp,
  started_at: timestamp.nullable(),
  finished_at: timestamp.nullable(),
});

export const batchResultsSchema = z.object({
  results: z.array(z.intersection(z.object({ index: z.number().int() }), taskSchema)),
  next_cursor: z.string().nullable(),
});

export const batchCancelledSchema = z.object({ cancelled: z.number().int() });

const variantFigures = {
  tasks: z.number().int(),
  succeeded: z.number().int(),
  failed: z.number().int(),
  failure_rate: z.number().nullable(),
  cost: usd,
  avg_cost_per_task: usd,
  requests: z.number().int(),
  input_tokens: z.number().int(),
  output_tokens: z.number().int(),
  latency_p50_ms: z.number().nullable(),
  latency_p95_ms: z.number().nullable(),
};

/** GET /v1/costs/report?group_by=variant: the arms of A/B rules over the tasks submitted in the range. */
export const variantReportSchema = z.object({
  from: z.string(),
  to: z.string(),
  group_by: z.literal('variant'),
  ...variantFigures,
  groups: z.array(z.object({ key: z.string().nullable(), task_type: z.string().nullable(), ...variantFigures })),
});

export const costReportSchema = z.object({
  from: z.string(),
  to: z.string(),
  group_by: z.string(),
  total_cost: usd,
  total_requests: z.number().int(),
  avg_cost_per_request: usd,
  cost_by_model: z.record(z.string(), usd),
  cache_hits: z.number().int().describe('tasks answered from the result cache (no model call)'),
  saved_by_cache: usd.describe("what the cached answers' original calls cost"),
  groups: z.array(
    z.object({
      key: z.string().nullable(),
      cost: usd,
      requests: z.number().int(),
      input_tokens: z.number().int(),
      output_tokens: z.number().int(),
      cache_hits: z.number().int(),
      saved_by_cache: usd,
    }),
  ),
});

export const costAnalysisSchema = z.object({
  from: z.string(),
  to: z.string(),
  baseline_model: z.string(),
  total_cost: usd,
  potential_cost: usd,
  savings: usd,
  savings_percent: z.number(),
  total_requests: z.number().int(),
  failed_requests: z.number().int(),
  claude_percent: z.number(),
  gpt4_percent: z.number(),
  gpt35_percent: z.number(),
  distribution_by_family: z.record(z.string(), z.number()),
  distribution_by_model: z.record(z.string(), z.number()),
  optimization_score: z.number(),
  cache_hits: z.number().int(),
  saved_by_cache: usd,
});

const money = {
  day: z.string().describe('UTC day YYYY-MM-DD'),
  limit: usd.nullable(),
  spent: usd,
  reserved: usd,
  remaining: usd.nullable(),
};
/** GET /v1/budget: the global budget for the admin key, the caller's own for a client key. */
export const budgetSchema = z.union([
  z.object({
    scope: z.literal('global'),
    ...money,
    alert_threshold: z.number().nullable(),
    alert_triggered: z.boolean(),
  }),
  z.object({
    scope: z.literal('key'),
    key_id: z.string(),
    ...money,
    admin_limit: usd.nullable(),
    own_limit: usd.nullable(),
  }),
]);

const keyBudgetSchema = z.object({
  scope: z.literal('key'),
  key_id: z.string(),
  ...money,
  admin_limit: usd.nullable(),
  own_limit: usd.nullable(),
});
export const keyBudgetsSchema = z.object({
  keys: z.array(z.object({ ...keyBudgetSchema.shape, key_hint: z.string() })),
});
export { keyBudgetSchema };

const limitsSchema = z
  .object({
    slots_in_use: z.number().int(),
    max_concurrency: z.number().int(),
    requests_in_window: z.number().int(),
    rpm: z.number().int(),
    tokens_in_window: z.number().int(),
    tpm: z.number().int().nullable(),
    window_seconds: z.number(),
    paused_until: timestamp.nullable(),
    limited: z.boolean(),
  })
  .describe("A model's live limit state; null when Redis could not be read.");

const healthViewSchema = z
  .object({
    healthy: z.boolean(),
    measured: z.boolean().describe('false: no call recorded lately (counts as healthy)'),
    circuit: z.enum(['closed', 'open', 'half_open']),
    retry_at: timestamp.optional(),
    error_rate: z.number().optional(),
    recent_calls: z.number().int().optional(),
    latency_samples: z.number().int().optional(),
    latency_p50_ms: z.number().nullable().optional(),
    latency_p95_ms: z.number().nullable().optional(),
    ms_per_output_token_p50: z.number().nullable().optional(),
    ms_per_output_token_p95: z.number().nullable().optional(),
  })
  .describe("A model's measured health and latency (docs/routing.md); null when Redis could not be read.");

export const modelListSchema = z.object({
  object: z.literal('list'),
  data: z.array(
    z.object({
      id: z.string(),
      object: z.literal('model'),
      created: z.number().int(),
      owned_by: z.string(),
      orchex: z.union([
        z.object({
          provider: z.string(),
          model_id: z.string(),
          context_window: z.number().int(),
          max_output_tokens: z.number().int(),
          input_cost_per_1k: z.number(),
          output_cost_per_1k: z.number(),
          quality: z.number().describe('0–100, for routing strategies'),
          health: healthViewSchema.nullable(),
          limits: limitsSchema.nullable(),
        }),
        z.object({ alias_of: z.string() }),
        z.object({ routes: z.string() }),
      ]),
    }),
  ),
});

export const chatCompletionSchema = z.object({
  id: z.string(),
  object: z.literal('chat.completion'),
  created: z.number().int(),
  model: z.string(),
  choices: z.array(
    z.object({
      index: z.number().int(),
      message: z.object({ role: z.literal('assistant'), content: z.string(), refusal: z.null() }),
      finish_reason: z.string().nullable(),
      logprobs: z.null(),
    }),
  ),
  usage: z.object({
    prompt_tokens: z.number().int(),
    completion_tokens: z.number().int(),
    total_tokens: z.number().int(),
  }),
  orchex: z.object({
    task_id: z.uuid(),
    plan: z.array(z.string()),
    attempts: z.number().int(),
    cost: usd,
    cached: z.boolean(),
    saved_cost: usd,
  }),
});

export const healthSchema = z.object({
  redis: z.enum(['ok', 'down']),
  postgres: z.enum(['ok', 'down']),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
