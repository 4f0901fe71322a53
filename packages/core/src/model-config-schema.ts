import { z } from 'zod';
import { type ModelRates, resolveModelRates, UnknownPriceError } from './model-rates.ts';

/** A price or amount in USD. */
export const usd = z.number().nonnegative();

const modelFields = {
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
  /** Largest output one call may ask for; a task's larger max_tokens is clamped to it. Default: the whole window. */
  max_output_tokens: z.number().int().positive().optional(),
  /** Requests started per any 60-second span, across all workers. Default 60. */
  rpm: z.number().int().positive().default(60),
  /** Calls in flight at once, across all workers. Default 4. */
  max_concurrency: z.number().int().positive().default(4),
  /** Tokens per any 60-second span (estimated before, settled after); unset = unlimited. */
  tpm: z.number().int().positive().optional(),
  /**
   * The model's tier within its provider's lineup — premium (the seed's GPT-4 role), standard, or small (its
   * GPT-3.5) — for the CostAnalyzer's per-tier shares. Default: the tier of the model its name is an alias of.
   */
  tier: z.enum(['premium', 'standard', 'small']).optional(),
  /**
   * How good its answers are, 0–100, for the `cost` floor and the `quality` and `balanced` strategies. Default: the
   * built-in lineup's score (see model-quality.ts), else by tier (premium 90, standard 80, small 65), else 70.
   */
  quality: z.number().min(0).max(100).optional(),
  /** This model's own API root (any OpenAI-compatible service, a proxy, a second account); default: the provider's. */
  base_url: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).optional(),
  /** The environment variable holding this model's key; default: the provider's (ANTHROPIC_API_KEY, …). */
  api_key_env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
    .optional(),
  /** Extra headers sent with every call to this model. */
  headers: z.record(z.string(), z.string()).optional(),
  /** Extra query parameters on every call (e.g. Azure OpenAI's api-version). */
  query: z.record(z.string(), z.string()).optional(),
};

/** One model orchex can call, complete: which provider serves it, its id there, its window, limits and prices. */
const modelConfigInputSchema = z
  .object({
    /** Which adapter calls it: a built-in provider (PROVIDERS) or one a plugin adds. */
    provider: z.string().min(1),
    /** The provider's own model id (e.g. "claude-sonnet-4-5"); also the key for the price catalogue. */
    model_id: z.string().min(1),
    ...modelFields,
  })
  .strict();

/**
 * A model as a config file may write it: `provider` and `model_id` may be left out (see inferModel), as the seed's
 * atlas_config.yaml does.
 */
export const modelEntrySchema = z
  .object({
    /**
     * Which adapter calls it: anthropic, openai, google, ollama, or a plugin's provider. Default: inferred from the
     * name (claude → anthropic, gpt/o1… → openai, gemini → google; a local base_url → ollama).
     */
    provider: z.string().min(1).optional(),
    /** The provider's model id; default: the alias target's id for a known alias (gpt-4 → …), else the name. */
    model_id: z.string().min(1).optional(),
    ...modelFields,
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

/** A model as parsed: prices resolved, `rates` set. */
export type ModelConfig = z.output<typeof modelConfigSchema>;
/** A model as written in full (prices optional). */
export type ModelConfigInput = z.input<typeof modelConfigSchema>;
/** A model as a config file may write it (provider and model_id optional). */
export type ModelEntry = z.output<typeof modelEntrySchema>;
