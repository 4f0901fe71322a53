import { isProviderName, type ModelConfig, type ProviderName } from '@orchex/core';
import { AnthropicLanguageModel } from './anthropic/anthropic-language-model.ts';
import { GoogleLanguageModel } from './google/google-language-model.ts';
import type { LanguageModel } from './language-model.ts';
import type { LanguageModelInit } from './language-model-init.ts';
import type { ProviderPlugin } from './load-plugins.ts';
import { OllamaLanguageModel } from './ollama/ollama-language-model.ts';
import { OpenAILanguageModel } from './openai/openai-language-model.ts';
import type { Env } from './shared/env.ts';
import { withStreaming } from './stream-from-generate.ts';

/** Builds one model of a provider; each adapter's model class is one. */
export type LanguageModelFactory = new (init: LanguageModelInit) => LanguageModel;

/**
 * Every provider, keyed by the config's `provider` name. Typed against ProviderName, so a provider added to the
 * config schema without a line here (or the reverse) fails to compile.
 */
export const providerRegistry: Readonly<Record<ProviderName, LanguageModelFactory>> = {
  anthropic: AnthropicLanguageModel,
  openai: OpenAILanguageModel,
  google: GoogleLanguageModel,
  ollama: OllamaLanguageModel,
};

/**
 * The adapters of `names` (configured models), built now: a malformed provider variable throws here, naming the
 * model and the variable, so a process fails at start instead of failing tasks. `plugins` serve the providers
 * that are not built in (loadPlugins).
 */
export function createLanguageModels(
  names: readonly string[],
  models: Readonly<Record<string, ModelConfig>>,
  env: Env = process.env,
  plugins: ReadonlyMap<string, ProviderPlugin> = new Map(),
): Map<string, LanguageModel> {
  const built = new Map<string, LanguageModel>();
  for (const name of names) {
    const model = models[name];
    if (!model) throw new Error(`model "${name}" is not configured`);
    try {
      built.set(name, createLanguageModel(name, model, env, plugins));
    } catch (err) {
      throw new Error(`model "${name}" (${model.provider}): ${(err as Error).message}`);
    }
  }
  return built;
}

/**
 * The LanguageModel for one configured model. Reads keys and base URLs from `env` (default process.env) once, with
 * the model's own base_url / api_key_env / headers / query over them; a malformed base URL throws here, naming the
 * variable, while a missing key only fails each call (kind "auth").
 */
export function createLanguageModel(
  modelName: string,
  model: ModelConfig,
  env: Env = process.env,
  plugins: ReadonlyMap<string, ProviderPlugin> = new Map(),
): LanguageModel {
  const init: LanguageModelInit = {
    modelName,
    modelId: model.model_id,
    env,
    connection: { baseURL: model.base_url, apiKeyEnv: model.api_key_env, headers: model.headers, query: model.query },
  };
  if (isProviderName(model.provider)) return new providerRegistry[model.provider](init);
  const plugin = plugins.get(model.provider);
  if (!plugin) throw new Error(`no provider "${model.provider}": neither built in nor loaded from a plugin`);
  return withStreaming(plugin.createModel(init));
}
