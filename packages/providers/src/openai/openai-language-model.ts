import type { LanguageModelInit } from '../language-model-init.ts';
import { parseEnv } from '../shared/parse-env.ts';
import { OpenAICompatibleLanguageModel } from './openai-compatible-language-model.ts';
import { openaiOptionsSchema } from './openai-options.ts';

/** A GPT / o-series model through the openai SDK's Chat Completions API. */
export class OpenAILanguageModel extends OpenAICompatibleLanguageModel {
  constructor(init: LanguageModelInit) {
    const options = parseEnv(openaiOptionsSchema, init.env);
    super(init, {
      provider: 'openai',
      apiKey: options.apiKey,
      keyVariable: 'OPENAI_API_KEY',
      baseURL: options.baseURL,
      maxTokensField: 'max_completion_tokens',
    });
  }
}
