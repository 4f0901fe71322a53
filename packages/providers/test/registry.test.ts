import {
  AnthropicLanguageModel,
  createLanguageModel,
  GoogleLanguageModel,
  OllamaLanguageModel,
  OpenAILanguageModel,
  providerRegistry,
} from '@orchex/providers';
import { describe, expect, it } from 'vitest';
import { modelConfig } from './helpers.ts';

describe('registry', () => {
  it('registers every provider of the config schema', () => {
    expect(Object.keys(providerRegistry).sort()).toEqual(['anthropic', 'google', 'ollama', 'openai']);
  });

  it.each([
    ['anthropic', AnthropicLanguageModel],
    ['openai', OpenAILanguageModel],
    ['google', GoogleLanguageModel],
    ['ollama', OllamaLanguageModel],
  ] as const)('%s models get their adapter', (provider, Model) => {
    const model = createLanguageModel('my-model', modelConfig(provider, 'provider-id'), {});
    expect(model).toBeInstanceOf(Model);
    expect(model).toMatchObject({ provider, modelName: 'my-model', modelId: 'provider-id' });
  });

  it.each([
    ['anthropic', 'ANTHROPIC_BASE_URL'],
    ['openai', 'OPENAI_BASE_URL'],
    ['google', 'GOOGLE_BASE_URL'],
    ['ollama', 'OLLAMA_BASE_URL'],
  ] as const)('a malformed %s base URL fails at creation naming %s', (provider, variable) => {
    expect(() => createLanguageModel('m', modelConfig(provider, 'id'), { [variable]: 'localhost:4010' })).toThrow(
      variable,
    );
  });
});
