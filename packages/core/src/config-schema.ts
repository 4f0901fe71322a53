import { z } from 'zod';

export const PROVIDERS = ['anthropic', 'openai', 'google', 'ollama'] as const;
export const TASK_TYPES = ['code', 'research', 'analysis', 'creative', 'simple', 'long_context'] as const;
export type ProviderName = (typeof PROVIDERS)[number];
export type TaskType = (typeof TASK_TYPES)[number];

const usd = z.number().nonnegative();

/** One model orchex can call: which provider serves it, its prices, its window and its limits. */
export const modelConfigSchema = z
  .object({
    /** Which adapter calls it. */
    provider: z.enum(PROVIDERS),
    /** The provider's own model id (e.g. "claude-sonnet-4-5"). */
    model_id: z.string().min(1),
    /** USD per 1,000 input tokens. */
    input_cost_per_1k: usd,
    /** USD per 1,000 output tokens. */
    output_cost_per_1k: usd,
    /** USD per 1,000 input tokens read from the prompt cache; default: the provider's usual discount. */
    cache_read_cost_per_1k: usd.optional(),
    /** USD per 1,000 input tokens written to the prompt cache; default: the provider's usual surcharge. */
    cache_write_cost_per_1k: usd.optional(),
    /** Context window in tokens (input + output). */
    max_tokens: z.number().int().positive(),
    /** Largest output the model may produce; default min(8192, max_tokens). */
    max_output_tokens: z.number().int().positive().optional(),
    /** Requests started per any 60-second span, across all workers. Default 60. */
    rpm: z.number().int().positive().default(60),
    /** Calls in flight at once, across all workers. Default 4. */
    max_concurrency: z.number().int().positive().default(4),
    /** Tokens per any 60-second span (estimated before, settled after); unset = unlimited. */
    tpm: z.number().int().positive().optional(),
  })
  .strict();

export const routingRuleSchema = z
  .object({
    primary: z.string().min(1),
    fallback: z.array(z.string().min(1)).default([]),
  })
  .strict();

export const configSchema = z
  .object({
    orchestrator: z
      .object({
        /** Model used when no rule applies. */
        default_model: z.string().min(1),
        /** Re-route to the next model of the plan when a model gives up. Default true. */
        enable_fallback: z.boolean().default(true),
        /** Attempts per model beyond the first. Default 3. */
        max_retries: z.number().int().min(0).max(20).default(3),
        /** Per-attempt deadline in seconds. Default 60. */
        timeout: z.number().positive().max(86_400).default(60),
      })
      .strict(),
    cost_limits: z
      .object({
        /** USD per UTC day across all tasks; unset = no limit. */
        max_daily_cost: usd.optional(),
        /** Largest worst-case estimate a single task may have, USD; unset = no limit. */
        max_per_request: usd.optional(),
        /** Spend (USD) at which a daily alert fires; unset = none. */
        alert_threshold: usd.optional(),
      })
      .strict()
      .default({}),
    routing_rules: z.partialRecord(z.enum(TASK_TYPES), routingRuleSchema).default({}),
    /** Cost report settings. */
    cost_analysis: z
      .object({
        /** Model the CostAnalyzer prices every request at for "potential cost"; default: the research rule's primary, else default_model. */
        baseline_model: z.string().min(1).optional(),
      })
      .strict()
      .default({}),
    models: z.record(z.string().regex(/^[A-Za-z0-9._-]+$/, 'model names use letters, digits, ".", "_" and "-"'), modelConfigSchema),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const known = Object.keys(cfg.models);
    const check = (name: string, path: (string | number)[]) => {
      if (!(name in cfg.models)) {
        ctx.addIssue({
          code: 'custom',
          path,
          message: `unknown model "${name}" (known: ${known.join(', ')})`,
        });
      }
    };
    check(cfg.orchestrator.default_model, ['orchestrator', 'default_model']);
    if (cfg.cost_analysis.baseline_model) check(cfg.cost_analysis.baseline_model, ['cost_analysis', 'baseline_model']);
    for (const [type, rule] of Object.entries(cfg.routing_rules)) {
      if (!rule) continue;
      check(rule.primary, ['routing_rules', type, 'primary']);
      rule.fallback.forEach((m, i) => check(m, ['routing_rules', type, 'fallback', i]));
    }
  });

export type OrchexConfig = z.output<typeof configSchema>;
export type ModelConfig = z.output<typeof modelConfigSchema>;
