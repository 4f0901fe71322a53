import { makeUsage, type Usage } from '@orchex/core';
import type { OpenAIChatCompletion } from './openai-wire-schema.ts';

/**
 * OpenAI counts cached tokens inside `prompt_tokens` and reasoning tokens inside `completion_tokens`; it has no
 * separately billed cache write.
 */
export function convertOpenAIUsage(usage: OpenAIChatCompletion['usage']): Usage {
  return makeUsage({
    input: usage.prompt_tokens,
    output: usage.completion_tokens,
    cacheRead: usage.prompt_tokens_details?.cached_tokens ?? 0,
    reasoning: usage.completion_tokens_details?.reasoning_tokens ?? 0,
  });
}
