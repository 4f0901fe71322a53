import type { FakeStep } from './fake-step.ts';

/**
 * Ready-made fault steps. Bodies are rendered per protocol when the request arrives, so one step gives Anthropic,
 * OpenAI, Gemini and Ollama clients each their provider's own error shape.
 */
export const faults = {
  /** 429 with `retry-after` (seconds, default 1); `retryAfterMs` adds `retry-after-ms`. Gemini also gets RetryInfo. */
  rateLimited(opts: { retryAfterSeconds?: number; retryAfterMs?: number } = {}): FakeStep {
    const headers: Record<string, string> = { 'retry-after': String(opts.retryAfterSeconds ?? 1) };
    if (opts.retryAfterMs !== undefined) headers['retry-after-ms'] = String(opts.retryAfterMs);
    return { type: 'error', status: 429, preset: 'rate_limited', headers };
  },
  /** 500 internal error. */
  serverError(): FakeStep {
    return { type: 'error', status: 500, preset: 'server' };
  },
  /** Overloaded: 529 by default (Anthropic's); pass 503 for Gemini/OpenAI realism. */
  overloaded(status = 529): FakeStep {
    return { type: 'error', status, preset: 'overloaded' };
  },
  /** 400 saying the prompt exceeds the context window. */
  contextLength(): FakeStep {
    return { type: 'error', status: 400, preset: 'context_length' };
  },
  /** 401 invalid key. */
  unauthorized(): FakeStep {
    return { type: 'error', status: 401, preset: 'auth' };
  },
  /** 400 content policy rejection. */
  contentFilter(): FakeStep {
    return { type: 'error', status: 400, preset: 'content_filter' };
  },
  /** Never answers until the client aborts. */
  hang(): FakeStep {
    return { type: 'hang' };
  },
  /** Destroys the connection. */
  reset(): FakeStep {
    return { type: 'reset' };
  },
  /** 200 with an unusable body. */
  malformed(variant: 'not-json' | 'wrong-shape' = 'not-json'): FakeStep {
    return { type: 'malformed', variant };
  },
};
