/** Token usage of one model call, normalised across providers (shape of vercel/ai's LanguageModelV2 usage). */
export interface Usage {
  inputTokens: {
    /** All input tokens, cached or not. */
    total: number;
    /** Input tokens billed at the full input price. */
    noCache: number;
    /** Input tokens read from the provider's prompt cache. */
    cacheRead: number;
    /** Input tokens written to the provider's prompt cache. */
    cacheWrite: number;
    /** Of cacheWrite, those written to Anthropic's 1-hour cache (priced apart from 5-minute writes); absent = 0. */
    cacheWrite1h?: number;
  };
  outputTokens: {
    /** All output tokens, reasoning included. */
    total: number;
    /** Of which reasoning ("thinking") tokens. */
    reasoning: number;
  };
}

/** Builds a Usage from plain counts; missing parts default to 0, noCache is derived, cacheWrite1h is capped at cacheWrite. */
export function makeUsage(parts: {
  input: number;
  output: number;
  cacheRead?: number;
  cacheWrite?: number;
  /** Of cacheWrite, the 1-hour writes. */
  cacheWrite1h?: number;
  reasoning?: number;
}): Usage {
  const cacheRead = parts.cacheRead ?? 0;
  const cacheWrite = parts.cacheWrite ?? 0;
  const cacheWrite1h = Math.min(parts.cacheWrite1h ?? 0, cacheWrite);
  return {
    inputTokens: {
      total: parts.input,
      noCache: Math.max(0, parts.input - cacheRead - cacheWrite),
      cacheRead,
      cacheWrite,
      // Only when present, so usage without 1-hour writes keeps its long-standing shape.
      ...(cacheWrite1h > 0 ? { cacheWrite1h } : {}),
    },
    outputTokens: { total: parts.output, reasoning: parts.reasoning ?? 0 },
  };
}
