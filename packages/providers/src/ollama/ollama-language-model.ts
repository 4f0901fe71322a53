import type { LanguageModelInit } from '../language-model-init.ts';
import { OpenAICompatibleLanguageModel } from '../openai/openai-compatible-language-model.ts';
import { parseEnv } from '../shared/parse-env.ts';
import { ollamaOptionsSchema } from './ollama-options.ts';

/**
 * A local model through Ollama's OpenAI-compatible API, reusing the openai adapter (wire schema, finish reasons,
 * usage and error classification are the same).
 */
export class OllamaLanguageModel extends OpenAICompatibleLanguageModel {
  constructor(init: LanguageModelInit) {
    const options = parseEnv(ollamaOptionsSchema, init.env);
    super(init, {
      provider: 'ollama',
      // Ollama ignores the key, but the openai SDK refuses to start without one.
      apiKey: 'ollama',
      keyVariable: 'OLLAMA_API_KEY',
      baseURL: options.baseURL,
      maxTokensField: 'max_tokens',
    });
  }
}
