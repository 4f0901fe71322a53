import type { FakeErrorPreset, FakeStep } from './fake-step.ts';

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
  /**
   * A streamed answer that fails before its first token. By default an error status, which is how a stream fails
   * before it opens (any error step does this); `inStream` opens the stream (200) and sends the provider's error
   * event before any text instead.
   */
  failBeforeFirstToken(opts: { inStream?: boolean; preset?: FakeErrorPreset } = {}): FakeStep {
    if (opts.inStream)
      return { type: 'cut', afterDeltas: 0, variant: 'error-event', preset: opts.preset ?? 'overloaded' };
    const preset = opts.preset ?? 'overloaded';
    return { type: 'error', status: PRESET_STATUS[preset], preset };
  },
  /**
   * A streamed answer cut after `deltas` text deltas: the connection closes mid-body ("reset", default), or the
   * provider's in-stream error event is sent ("error-event", an overloaded error unless `preset` says otherwise).
   */
  cutAfter(
    deltas: number,
    opts: { variant?: 'reset' | 'error-event'; preset?: FakeErrorPreset; text?: string; chunkDelayMs?: number } = {},
  ): FakeStep {
    return { type: 'cut', afterDeltas: deltas, ...opts };
  },
};

/** The status an error preset is usually sent with. */
const PRESET_STATUS: Record<FakeErrorPreset, number> = {
  rate_limited: 429,
  overloaded: 529,
  server: 500,
  context_length: 400,
  auth: 401,
  content_filter: 400,
  bad_request: 400,
};
