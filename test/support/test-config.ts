import { type OrchexConfig, parseConfig } from '@orchex/core';

/**
 * A small config over the fake wire server: one model per provider plus a small-window and a large-window model.
 * Tests override parts with `overrides` (deep-merged one level into each section).
 */
export function testConfig(overrides: ConfigOverrides = {}): OrchexConfig {
  return parseConfig(testConfigSource(overrides));
}

export interface ConfigOverrides {
  orchestrator?: Record<string, unknown>;
  cost_limits?: Record<string, unknown>;
  routing_rules?: Record<string, unknown>;
  models?: Record<string, Record<string, unknown>>;
  long_context?: Record<string, unknown>;
  routing?: Record<string, unknown>;
  cache?: Record<string, unknown>;
}

/** The same config as plain data (what a YAML/JSON file would hold), for worker child processes. */
export function testConfigSource(overrides: ConfigOverrides = {}): Record<string, unknown> {
  const models: Record<string, Record<string, unknown>> = {
    'claude-test': {
      provider: 'anthropic',
      model_id: 'claude-test',
      input_cost_per_1k: 0.003,
      output_cost_per_1k: 0.015,
      max_tokens: 200_000,
      rpm: 6000,
      max_concurrency: 50,
    },
    'gpt-test': {
      provider: 'openai',
      model_id: 'gpt-test',
      input_cost_per_1k: 0.00125,
      output_cost_per_1k: 0.01,
      max_tokens: 400_000,
      rpm: 6000,
      max_concurrency: 50,
    },
    'gemini-test': {
      provider: 'google',
      model_id: 'gemini-test',
      input_cost_per_1k: 0.00125,
      output_cost_per_1k: 0.01,
      max_tokens: 1_000_000,
      rpm: 6000,
      max_concurrency: 50,
    },
    'llama-test': {
      provider: 'ollama',
      model_id: 'llama-test',
      input_cost_per_1k: 0,
      output_cost_per_1k: 0,
      max_tokens: 8_000,
      rpm: 6000,
      max_concurrency: 50,
    },
  };
  for (const [name, m] of Object.entries(overrides.models ?? {})) models[name] = { ...models[name], ...m };
  return {
    orchestrator: { default_model: 'claude-test', max_retries: 2, timeout: 10, ...overrides.orchestrator },
    cost_limits: { ...overrides.cost_limits },
    routing_rules: {
      code: { primary: 'claude-test', fallback: ['gpt-test', 'gemini-test'] },
      research: { primary: 'gpt-test', fallback: ['claude-test'] },
      simple: { primary: 'llama-test', fallback: ['gpt-test'] },
      long_context: { primary: 'gemini-test', fallback: [] },
      ...overrides.routing_rules,
    },
    models,
    ...(overrides.long_context ? { long_context: overrides.long_context } : {}),
    // Tests script runs of failures on shared models and expect the plans as written: the circuit breaker's
    // reordering is on only where a test asks for it (its figures are recorded either way).
    routing: { ...overrides.routing, health: { enabled: false, ...(overrides.routing?.health as object) } },
    ...(overrides.cache ? { cache: overrides.cache } : {}),
  };
}
