import { makeUsage, type Usage } from '@orchex/core';
import type { AnthropicMessage } from './anthropic-wire-schema.ts';

/**
 * Anthropic reports uncached input, cache reads and cache writes as three disjoint counts, so the total input is
 * their sum and `input_tokens` alone is the part billed at the full price.
 */
export function convertAnthropicUsage(usage: AnthropicMessage['usage']): Usage {
  const cacheRead = usage.cache_read_input_tokens ?? 0;
  const cacheWrite = usage.cache_creation_input_tokens ?? 0;
  return makeUsage({
    input: usage.input_tokens + cacheRead + cacheWrite,
    output: usage.output_tokens,
    cacheRead,
    cacheWrite,
  });
}
