import type { LanguageModelInit } from '../language-model-init.ts';
import { OpenAICompatibleLanguageModel } from '../openai/openai-compatible-language-model.ts';
import { parseEnv } from '../shared/parse-env.ts';
import { resolveConnection } from '../shared/resolve-connection.ts';
import { ollamaOptionsSchema } from './ollama-options.ts';

/**
 * A local model through Ollama's OpenAI-compatible API, reusing the openai adapter (wire schema, finish reasons,
 * usage and error classification are the same).
 */
export class OllamaLanguageModel extends OpenAICompatibleLanguageModel {
  constructor(init: LanguageModelInit) {
    // Ollama ignores the key, but the openai SDK refuses to start without one; a model's own api_key_env (a
    // gateway in front of it) is sent when set.
    const env = parseEnv(ollamaOptionsSchema, init.env);
    const connection = resolveConnection(init, { apiKey: 'ollama', baseURL: env.baseURL }, 'OLLAMA_API_KEY');
    super(init, { provider: 'ollama', ...connection, maxTokensField: 'max_tokens' });
  }
}
