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
  };
  outputTokens: {
    /** All output tokens, reasoning included. */
    total: number;
    /** Of which reasoning ("thinking") tokens. */
    reasoning: number;
  };
}

/** Builds a Usage from plain counts; missing parts default to 0 and noCache is derived. */
export function makeUsage(parts: {
  input: number;
  output: number;
  cacheRead?: number;
  cacheWrite?: number;
  reasoning?: number;
}): Usage {
  const cacheRead = parts.cacheRead ?? 0;
  const cacheWrite = parts.cacheWrite ?? 0;
  return {
    inputTokens: {
      total: parts.input,
      noCache: Math.max(0, parts.input - cacheRead - cacheWrite),
      cacheRead,
      cacheWrite,
    },
    outputTokens: { total: parts.output, reasoning: parts.reasoning ?? 0 },
  };
}
