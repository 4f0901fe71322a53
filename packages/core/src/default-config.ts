/**
 * The built-in configuration: the seed's routing table with current models. Used when ORCHEX_CONFIG is unset; see
 * config/orchex.example.yaml for a file. Prices come from the pinned @pydantic/genai-prices catalogue at load; the
 * few written here (USD per 1K tokens, list prices checked 2026-11) are overrides kept on purpose so that path is
 * always exercised, and llama3.1 is local, so its zero prices must be written.
 */
export const DEFAULT_CONFIG_SOURCE = {
  orchestrator: {
    default_model: 'claude-sonnet-5',
    enable_fallback: true,
    max_retries: 3,
    timeout: 60,
  },
  cost_limits: {
    max_daily_cost: 50.0,
    max_per_request: 1.0,
    alert_threshold: 40.0,
  },
  routing_rules: {
    code: { primary: 'claude-sonnet-5', fallback: ['gpt-5.5', 'gemini-3.1-pro-preview'] },
    analysis: { primary: 'claude-sonnet-5', fallback: ['gemini-3.1-pro-preview', 'gpt-5.5'] },
    research: { primary: 'gpt-5.5', fallback: ['claude-opus-5-5', 'gemini-3.1-pro-preview'] },
    creative: { primary: 'gpt-5.5', fallback: ['claude-sonnet-5', 'gemini-3.5-flash'] },
    simple: { primary: 'gpt-5.4-mini', fallback: ['claude-haiku-4-5', 'gemini-3.5-flash'] },
    long_context: { primary: 'gemini-3.1-pro-preview', fallback: ['gpt-4.1', 'claude-sonnet-5'] },
  },
  models: {
    'claude-opus-5-5': {
      provider: 'anthropic',
      model_id: 'claude-opus-5-5',
      max_tokens: 200_000,
      max_output_tokens: 64_000,
      rpm: 50,
      max_concurrency: 8,
      tier: 'premium',
    },
    'claude-sonnet-5': {
      provider: 'anthropic',
      model_id: 'claude-sonnet-5',
      max_tokens: 200_000,
      max_output_tokens: 64_000,
      rpm: 50,
      max_concurrency: 8,
      tier: 'standard',
    },
    'claude-haiku-4-5': {
      provider: 'anthropic',
      model_id: 'claude-haiku-4-5',
      max_tokens: 200_000,
      max_output_tokens: 64_000,
      rpm: 50,
      max_concurrency: 8,
      tier: 'small',
    },
    'gpt-5.5': {
      provider: 'openai',
      model_id: 'gpt-5.5',
      max_tokens: 400_000,
      max_output_tokens: 128_000,
      rpm: 500,
      max_concurrency: 16,
      tier: 'premium',
    },
    'gpt-5.4-mini': {
      provider: 'openai',
      model_id: 'gpt-5.4-mini',
      max_tokens: 400_000,
      max_output_tokens: 128_000,
      rpm: 500,
      max_concurrency: 16,
      tier: 'small',
    },
    'gpt-4.1': {
      provider: 'openai',
      model_id: 'gpt-4.1',
      input_cost_per_1k: 0.002,
      output_cost_per_1k: 0.008,
      cache_read_cost_per_1k: 0.0005,
      max_tokens: 1_047_576,
      max_output_tokens: 32_768,
      rpm: 500,
      max_concurrency: 16,
      tier: 'standard',
    },
    'gemini-3.1-pro-preview': {
      provider: 'google',
      model_id: 'gemini-3.1-pro-preview',
      max_tokens: 1_048_576,
      max_output_tokens: 65_536,
      rpm: 150,
      max_concurrency: 8,
      tier: 'premium',
    },
    'gemini-3.5-flash': {
      provider: 'google',
      model_id: 'gemini-3.5-flash',
      max_tokens: 1_048_576,
      max_output_tokens: 65_536,
      rpm: 1000,
      max_concurrency: 16,
      tier: 'small',
    },
    'llama3.1': {
      provider: 'ollama',
      model_id: 'llama3.1:8b',
      input_cost_per_1k: 0,
      output_cost_per_1k: 0,
      max_tokens: 131_072,
      max_output_tokens: 8_192,
      rpm: 600,
      max_concurrency: 2,
      tier: 'small',
    },
  },
} as const;

/**
 * Names from the seed (and other common shorthands) for the current model of their tier, so the seed's config and
 * examples run as written. A config's `aliases:` adds to or overrides these; a name the config defines as a model
 * is that model, not an alias.
 */
export const BUILT_IN_ALIASES: Readonly<Record<string, string>> = {
  'claude-opus': 'claude-opus-5-5',
  'claude-sonnet': 'claude-sonnet-5',
  'claude-sonnet-4': 'claude-sonnet-5',
  'claude-haiku': 'claude-haiku-4-5',
  'gpt-4': 'gpt-5.5',
  'gpt-4o': 'gpt-5.5',
  'gpt-4-turbo': 'gpt-5.5',
  'gpt-3.5-turbo': 'gpt-5.4-mini',
  'gpt-4o-mini': 'gpt-5.4-mini',
  'gemini-pro': 'gemini-3.1-pro-preview',
  'gemini-flash': 'gemini-3.5-flash',
  llama: 'llama3.1',
};
