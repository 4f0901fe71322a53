import { z } from 'zod';
import { cacheConfigSchema, cacheSetting } from './cache-config-schema.ts';
import { longContextSchema } from './long-context-schema.ts';
import { modelEntrySchema, usd } from './model-config-schema.ts';
import { resolveConfig } from './resolve-config.ts';
import { routerSettingsSchema } from './router-settings-schema.ts';
import { STRATEGIES } from './vocabulary.ts';

/** A strategy name, with a message that lists them. */
export const strategySchema = z.enum(STRATEGIES, `must be one of ${STRATEGIES.join(', ')}`);

/** A quality floor or score, 0–100. */
export const qualityScore = z.number().min(0, 'must be between 0 and 100').max(100, 'must be between 0 and 100');

/** One arm of an A/B rule: a model to start on, or a strategy to plan by, and its share of the traffic. */
const variantSchema = z
  .object({
    /** The variant's name in task records and the variant report. Default: its model, or its strategy. */
    name: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,64}$/, 'letters, digits, ".", ":", "_" and "-" (at most 64)')
      .optional(),
    /** Relative share of the rule's tasks (weights need not sum to 100). */
    weight: z.number().positive('must be above 0').max(1_000_000),
    /** Start on this model, the rule's other models following as fallbacks. */
    model: z.string().min(1).optional(),
    /** Plan by this strategy over the rule's candidates. */
    strategy: strategySchema.optional(),
  })
  .strict()
  .refine((v) => (v.model === undefined) !== (v.strategy === undefined), 'give either model or strategy (one)')
  .transform((v) => ({ ...v, name: v.name ?? v.model ?? (v.strategy as string) }));

export const routingRuleSchema = z
  .object({
    primary: z.string().min(1),
    fallback: z.array(z.string().min(1)).default([]),
    /**
     * Plan by a strategy instead of the rule's order (docs/routing.md); candidates are every configured model at
     * or above the quality floor. Default: the rule as written.
     */
    strategy: strategySchema.optional(),
    /** The quality floor for strategies. Default: the lowest quality among the rule's own models. */
    min_quality: qualityScore.optional(),
    /** A/B test: tasks of this rule are split over these, by a hash of the task id (or metadata.ab_key). */
    variants: z
      .array(variantSchema)
      .min(2, 'an A/B rule needs at least two variants')
      .max(10, 'at most 10 variants')
      .refine((vs) => new Set(vs.map((v) => v.name)).size === vs.length, 'variant names must differ')
      .optional(),
    /** Cache this type's answers: true (cache.ttl) or a TTL in seconds; only for tasks with temperature unset or 0. */
    cache: cacheSetting.optional(),
  })
  .strict();

/** A routing rule's name: one of the six known task types, or any other type a config gives a rule to. */
export const taskTypeName = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,63}$/, 'task types use lower-case letters, digits, "_" and "-" (at most 64)');

const modelName = z.string().regex(/^[A-Za-z0-9._:-]+$/, 'model names use letters, digits, ".", ":", "_" and "-"');

/** The config as written (the seed's atlas_config.yaml shape); configSchema resolves it. */
export const configInputSchema = z
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
        /** Largest worst-case cost one model call may have, USD, checked before every call; unset = no limit. */
        max_per_request: usd.optional(),
        /** Spend (USD) at which a daily alert fires; unset = none. */
        alert_threshold: usd.optional(),
      })
      .strict()
      .default({}),
    /** A plan per task type: the six known types, and any other type you name. */
    routing_rules: z
      .record(z.string(), routingRuleSchema)
      .superRefine((rules, ctx) => {
        // Checked here rather than as the record's key schema, whose message would not say what is allowed.
        for (const type of Object.keys(rules)) {
          const ok = taskTypeName.safeParse(type);
          if (!ok.success) ctx.addIssue({ code: 'custom', path: [type], message: ok.error.issues[0]?.message ?? '' });
        }
      })
      .default({}),
    /**
     * Other names for models: a name used in a rule, a fallback_chain or the default model that is not a configured
     * model resolves through here (e.g. the seed's `gpt-4` → the current flagship GPT). Merged over BUILT_IN_ALIASES.
     */
    aliases: z.record(modelName, modelName).default({}),
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
    /** How strategies weigh models, and when a model counts as unhealthy (circuit breaker). */
    routing: routerSettingsSchema.default(routerSettingsSchema.parse({})),
    /** The result cache (docs/cost-optimization.md "Result cache"): defaults for tasks and rules that opt in. */
    cache: cacheConfigSchema.default(cacheConfigSchema.parse({})),
    models: z.record(modelName, modelEntrySchema).default({}),
    /**
     * Providers loaded from modules at start (docs/providers.md): each entry names the provider its models use and
     * the module — an npm package, or a path relative to this file — that exports it.
     */
    plugins: z
      .array(
        z
          .object({
            provider: z.string().regex(/^[a-z][a-z0-9_-]*$/, 'a provider name: lower-case letters, digits, "_", "-"'),
            module: z.string().min(1),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

/**
 * The config, resolved at load: every model complete (provider and model_id inferred where left out, prices from
 * the catalogue), every name in rules, the default model and the baseline resolved through the aliases to a
 * configured model (a built-in model an alias names is added from the built-in lineup), and `aliases` left holding
 * only names that resolve, for fallback chains at request time. A name that is neither a model nor an alias fails
 * here, naming it.
 */
export const configSchema = configInputSchema.transform((cfg, ctx) => resolveConfig(cfg, ctx));

/** The resolved configuration every process uses. */
export type OrchexConfig = z.output<typeof configSchema>;
