import { makeUsage, type Usage } from '@orchex/core';
import type { GeminiResponse } from './google-wire-schema.ts';

/**
 * Gemini counts cached content inside `promptTokenCount`, and bills thinking (`thoughtsTokenCount`) as output on
 * top of `candidatesTokenCount`, so output total is their sum.
 */
export function convertGoogleUsage(usage: GeminiResponse['usageMetadata']): Usage {
  const reasoning = usage.thoughtsTokenCount ?? 0;
  return makeUsage({
    input: usage.promptTokenCount ?? 0,
    output: (usage.candidatesTokenCount ?? 0) + reasoning,
    cacheRead: usage.cachedContentTokenCount ?? 0,
    reasoning,
  });
}
