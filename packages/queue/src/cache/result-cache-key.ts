import { createHash } from 'node:crypto';
import type { ChatMessage } from '@orchex/core';

/** Everything that shapes a model's answer, as the call sends it. */
export interface CacheKeyInput {
  /** The step's model name and its provider id (a changed model_id behind the same name must not hit). */
  model: string;
  modelId: string;
  /** The conversation as sent; a task's `context` is already inside its last user turn (buildMessages). */
  messages: readonly ChatMessage[];
  system: string | null | undefined;
  /** max_tokens as sent (clamped to the model's output limit). */
  maxTokens: number;
  temperature: number | undefined;
  topP: number | undefined;
  stop: readonly string[] | undefined;
  /** The API key id whose cache this is; null when the config shares one cache across keys. */
  scope: string | null;
}

/**
 * SHA-256 (hex) of a canonical JSON of the request: a fixed-position array, so no key order or absent-vs-undefined
 * difference can make two identical requests hash apart. The version tag lets a later change of what is hashed
 * start from a clean cache instead of serving entries computed under another rule.
 */
export function resultCacheKey(k: CacheKeyInput): string {
  const canonical = JSON.stringify([
    'v1',
    k.model,
    k.modelId,
    k.system ?? null,
    k.messages.map((m) => [m.role, m.content]),
    k.maxTokens,
    k.temperature ?? null,
    k.topP ?? null,
    k.stop ?? null,
    k.scope,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}
