import type { AnthropicDeltaUsage } from './anthropic-stream-schema.ts';
import type { AnthropicMessage } from './anthropic-wire-schema.ts';

/**
 * A streamed message's final usage: message_start's counts, overwritten by message_delta's. The delta's counts are
 * cumulative totals for the whole message, present only when they apply, so they replace and never add (the SDK's
 * MessageStream does the same).
 */
export function mergeStreamUsage(
  start: AnthropicMessage['usage'],
  delta: AnthropicDeltaUsage | undefined,
): AnthropicMessage['usage'] {
  if (!delta) return start;
  return {
    ...start,
    output_tokens: delta.output_tokens,
    input_tokens: delta.input_tokens ?? start.input_tokens,
    cache_creation_input_tokens: delta.cache_creation_input_tokens ?? start.cache_creation_input_tokens,
    cache_read_input_tokens: delta.cache_read_input_tokens ?? start.cache_read_input_tokens,
  };
}
