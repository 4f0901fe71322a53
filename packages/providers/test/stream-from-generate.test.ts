import { type ModelConfig, makeUsage, modelConfigSchema, ProviderError } from '@orchex/core';
import {
  createLanguageModel,
  type GenerateResult,
  type PluginLanguageModel,
  type ProviderPlugin,
} from '@orchex/providers';
import { describe, expect, it } from 'vitest';
import { drain, rejection } from './helpers.ts';

// Plugins written before streaming have only doGenerate; the registry gives their models a doStream anyway.

const RESULT: GenerateResult = {
  content: 'an answer in one piece',
  finishReason: { unified: 'stop', raw: 'stop' },
  usage: makeUsage({ input: 12, output: 5 }),
  response: { id: 'r1', modelId: 'echo-1', headers: {} },
  latencyMs: 7,
};

const config: ModelConfig = modelConfigSchema.parse({
  provider: 'echo',
  model_id: 'echo-1',
  input_cost_per_1k: 0,
  output_cost_per_1k: 0,
  max_tokens: 8000,
});

const pluginOf = (
  model: Omit<PluginLanguageModel, 'provider' | 'modelName' | 'modelId'>,
): Map<string, ProviderPlugin> =>
  new Map([
    [
      'echo',
      {
        provider: 'echo',
        createModel: (init) => ({ provider: 'echo', modelName: init.modelName, modelId: init.modelId, ...model }),
      },
    ],
  ]);

describe('a plugin model without doStream', () => {
  it('streams its doGenerate answer as one delta, then the finish', async () => {
    const model = createLanguageModel('echo-model', config, {}, pluginOf({ doGenerate: async () => RESULT }));
    const { parts } = await drain(await model.doStream({ prompt: 'hi', maxOutputTokens: 5 }));
    expect(parts).toEqual([
      { type: 'text-delta', text: RESULT.content },
      { type: 'finish', ...RESULT },
    ]);
  });

  it('fails from doStream() with a ProviderError built from the kind it rejected with', async () => {
    const failing = async () => {
      throw Object.assign(new Error('slow down'), { kind: 'rate_limited', statusCode: 429, retryAfterMs: 1500 });
    };
    const model = createLanguageModel('echo-model', config, {}, pluginOf({ doGenerate: failing }));
    const error = await rejection(model.doStream({ prompt: 'hi', maxOutputTokens: 5 }));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ kind: 'rate_limited', retryAfterMs: 1500, provider: 'echo', afterOutput: false });
  });

  it('keeps a plugin’s own doStream', async () => {
    const own = async () => (async function* () {})();
    const model = createLanguageModel(
      'echo-model',
      config,
      {},
      pluginOf({ doGenerate: async () => RESULT, doStream: own }),
    );
    expect(model.doStream).toBe(own);
  });
});
