import { z } from 'zod';
import { longContextSchema } from './long-context-schema.ts';
import { type ModelRates, resolveModelRates, UnknownPriceError } from './model-rates.ts';
import { PROVIDERS, TASK_TYPES } from './vocabulary.ts';

const usd = z.number().nonnegative();

/** One model orchex can call, as written in the config: which provider serves it, its window, limits and prices. */
const modelConfigInputSchema = z
  .object({
    /** Which adapter calls it. */
    provider: z.enum(PROVIDERS),
    /** The provider's own model id (e.g. "claude-sonnet-4-5"); also the key for the price catalogue. */
    model_id: z.string().min(1),
    /** USD per 1,000 input tokens; default: the catalogue's list price (required when the catalogue has none). */
    input_cost_per_1k: usd.optional(),
    /** USD per 1,000 output tokens (reasoning included); default: the catalogue's list price (required when none). */
    output_cost_per_1k: usd.optional(),
    /** USD per 1,000 input tokens read from the prompt cache; default: catalogue, else a documented factor of input. */
    cache_read_cost_per_1k: usd.optional(),
    /** USD per 1,000 input tokens written to the prompt cache (Anthropic: 5-minute); default: catalogue, else a factor. */
    cache_write_cost_per_1k: usd.optional(),
    /** USD per 1,000 input tokens written to Anthropic's 1-hour cache; default: catalogue, else 2× input (Anthropic). */
    cache_write_1h_cost_per_1k: usd.optional(),
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

/**
 * A model with its prices resolved at load (config value per field, else the pinned genai-prices catalogue; see
 * resolveModelRates): `rates` holds the integer rates the cost math reads, and the `*_cost_per_1k` fields hold the
 * base-tier prices in effect (USD per 1K) for display. A model without a known input or output price fails here,
 * naming the model and the fields to set.
 */
export const modelConfigSchema = modelConfigInputSchema.transform((model, ctx) => {
  let rates: ModelRates;
  try {
    rates = resolveModelRates(model);
  } catch (err) {
    if (!(err instanceof UnknownPriceError)) throw err;
    ctx.addIssue({ code: 'custom', message: err.message });
    return z.NEVER;
  }
  return {
    ...model,
    input_cost_per_1k: rates.input / 1e9,
    output_cost_per_1k: rates.output / 1e9,
    cache_read_cost_per_1k: rates.cacheRead / 1e9,
    cache_write_cost_per_1k: rates.cacheWrite / 1e9,
    cache_write_1h_cost_per_1k: rates.cacheWrite1h / 1e9,
    /** Integer rates in micro-dollars per million tokens, tiers included; what costMicros/worstCaseMicros use. */
    rates,
  };
});

/** A routing rule: the primary model of a task type and the models tried after it. */
export const routingRuleSchema = z
  .object({
    primary: z.string().min(1),
    fallback: z.array(z.string().min(1)).default([]),
  })
  .strict();

/** The whole config file (the seed's atlas_config.yaml shape); model names are checked to exist. */
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
        /**
         * Longest pause a provider's retry-after may impose on a model's queue, seconds: a 429 pauses the whole
         * queue (every tenant's tasks), so one tenant's throttling cannot stop a model for longer. Default 60.
         */
        max_retry_after: z.number().positive().max(3600).default(60),
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
    /** Splitting inputs that fit no model of the plan (map parts + one reduce part). */
    long_context: longContextSchema.default(longContextSchema.parse({})),
    /** Cost report settings. */
    cost_analysis: z
      .object({
        /** Model the CostAnalyzer prices every request at for "potential cost"; default: the research rule's primary, else default_model. */
        baseline_model: z.string().min(1).optional(),
      })
      .strict()
      .default({}),
    models: z.record(
      z.string().regex(/^[A-Za-z0-9._-]+$/, 'model names use letters, digits, ".", "_" and "-"'),
      modelConfigSchema,
    ),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const known = Object.keys(cfg.models);
    const check = (name: string, path: (string | number)[]) => {
      if (!Object.hasOwn(cfg.models, name)) {
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
      for (const [i, m] of rule.fallback.entries()) check(m, ['routing_rules', type, 'fallback', i]);
    }
  });

/** A parsed, validated config. */
export type OrchexConfig = z.output<typeof configSchema>;
/** A model as parsed: prices resolved, `rates` set. */
export type ModelConfig = z.output<typeof modelConfigSchema>;
/** A model as written in a config file (prices optional). */
export type ModelConfigInput = z.input<typeof modelConfigSchema>;
