import { makeUsage, type Usage } from '@orchex/core';
import type { AnthropicMessage } from './anthropic-wire-schema.ts';

/**
 * Anthropic reports uncached input, cache reads and cache writes as three disjoint counts, so the total input is
 * their sum and `input_tokens` alone is the part billed at the full price. `cache_creation` splits the writes into
 * 5-minute and 1-hour ones, which are priced differently (1.25× and 2× input); the 1-hour count is kept as
 * cacheWrite1h. Thinking tokens are inside output_tokens and not reported apart.
 */
export function convertAnthropicUsage(usage: AnthropicMessage['usage']): Usage {
  const cacheRead = usage.cache_read_input_tokens ?? 0;
  const split = usage.cache_creation;
  const cacheWrite1h = split?.ephemeral_1h_input_tokens ?? 0;
  // Responses carry both; the split alone (no total) still counts every write.
  const cacheWrite = usage.cache_creation_input_tokens ?? (split?.ephemeral_5m_input_tokens ?? 0) + cacheWrite1h;
  return makeUsage({
    input: usage.input_tokens + cacheRead + cacheWrite,
    output: usage.output_tokens,
    cacheRead,
    cacheWrite,
    cacheWrite1h,
  });
}
