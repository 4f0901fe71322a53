import type { LanguageModelInit } from '../language-model-init.ts';
import { parseEnv } from '../shared/parse-env.ts';
import { resolveConnection } from '../shared/resolve-connection.ts';
import { OpenAICompatibleLanguageModel } from './openai-compatible-language-model.ts';
import { openaiOptionsSchema } from './openai-options.ts';

/** A GPT / o-series model through the openai SDK's Chat Completions API. */
export class OpenAILanguageModel extends OpenAICompatibleLanguageModel {
  constructor(init: LanguageModelInit) {
    const connection = resolveConnection(init, parseEnv(openaiOptionsSchema, init.env), 'OPENAI_API_KEY');
    super(init, { provider: 'openai', ...connection, maxTokensField: 'max_completion_tokens' });
  }
}
