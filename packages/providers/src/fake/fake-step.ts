import { z } from 'zod';

const ms = z.number().int().nonnegative();
const tokens = z.number().int().nonnegative();
const headers = z.record(z.string(), z.string());

/** Which canned, provider-shaped error body an error step renders (per protocol, at response time). */
export const FAKE_ERROR_PRESETS = [
  'rate_limited',
  'overloaded',
  'server',
  'context_length',
  'auth',
  'content_filter',
  'bad_request',
] as const;
/** A canned error body; default: chosen from the status (429 → rate_limited, 5xx → server, …). */
export type FakeErrorPreset = (typeof FAKE_ERROR_PRESETS)[number];

/**
 * Exact token counts a step reports, in orchex's normalised terms; each protocol renders them its own way (e.g.
 * Anthropic's input_tokens = input − cacheRead − cacheWrite). Unset parts are derived from text length (~4 chars per
 * token); cache and reasoning default to 0.
 */
export const fakeUsageSchema = z
  .object({
    /** All input tokens, cached included. */
    input: tokens.optional(),
    /** All output tokens, reasoning included. */
    output: tokens.optional(),
    cacheRead: tokens.optional(),
    /** Rendered by Anthropic only (the others have no separately billed cache write); default: cacheWrite1h or 0. */
    cacheWrite: tokens.optional(),
    /** Of cacheWrite, the 1-hour writes (Anthropic's usage.cache_creation); the rest are 5-minute writes. Default 0. */
    cacheWrite1h: tokens.optional(),
    reasoning: tokens.optional(),
  })
  .strict()
  .refine((u) => u.cacheWrite === undefined || (u.cacheWrite1h ?? 0) <= u.cacheWrite, {
    message: 'cacheWrite1h is part of cacheWrite, so it cannot exceed it',
    path: ['cacheWrite1h'],
  });
/** See fakeUsageSchema. */
export type FakeUsage = z.infer<typeof fakeUsageSchema>;

/** One scripted answer. Steps are plain JSON so they can also be sent to POST /__fake/script. */
export const fakeStepSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('ok'),
      /** Default: "fake answer from <model>: <first 40 chars of the prompt>". */
      text: z.string().optional(),
      /** Delay before answering; default 0. */
      latencyMs: ms.optional(),
      usage: fakeUsageSchema.optional(),
      /** Rendered as each provider's own finish reason; default "stop". */
      finish: z.enum(['stop', 'length', 'content_filter']).optional(),
      /** Streamed answers only: wait before each delta after the first (latencyMs is the time to the first). */
      chunkDelayMs: ms.optional(),
    })
    .strict(),
  /**
   * A streamed answer that breaks after `afterDeltas` text deltas (0: after the stream opened, before any text), where
   * delta N+1 would have come: "reset" (default) closes the connection mid-body; "error-event" sends the provider's
   * in-stream error event (Anthropic `event: error`, OpenAI/Ollama and Gemini a data line holding an error) and ends
   * the response. An answer with fewer deltas sends them all and breaks before its finish. A request that did not
   * ask for a stream has its connection closed without an answer.
   */
  z
    .object({
      type: z.literal('cut'),
      afterDeltas: z.number().int().nonnegative(),
      variant: z.enum(['reset', 'error-event']).optional(),
      /** The error event's kind (error-event only); default "overloaded". */
      preset: z.enum(FAKE_ERROR_PRESETS).optional(),
      /** The answer whose first deltas are sent; default as for "ok". */
      text: z.string().optional(),
      latencyMs: ms.optional(),
      chunkDelayMs: ms.optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('error'),
      status: z.number().int().min(400).max(599),
      headers: headers.optional(),
      /** Sent as is (string raw, else JSON); default: the preset's provider-shaped body. */
      body: z.unknown().optional(),
      preset: z.enum(FAKE_ERROR_PRESETS).optional(),
      latencyMs: ms.optional(),
    })
    .strict(),
  /** Never answers; ends when the client aborts (or the server closes). */
  z.object({ type: z.literal('hang') }).strict(),
  /** Destroys the socket without an answer. */
  z.object({ type: z.literal('reset'), latencyMs: ms.optional() }).strict(),
  z
    .object({
      type: z.literal('malformed'),
      /** "not-json" (default): a truncated JSON body; "wrong-shape": valid JSON that is not a response. */
      variant: z.enum(['not-json', 'wrong-shape']).optional(),
      latencyMs: ms.optional(),
    })
    .strict(),
  /** Any status, headers and body, for shapes the other steps do not cover (e.g. a Gemini promptFeedback block). */
  z
    .object({
      type: z.literal('raw'),
      status: z.number().int().min(200).max(599).optional(),
      headers: headers.optional(),
      body: z.unknown(),
      latencyMs: ms.optional(),
    })
    .strict(),
]);
/** One scripted answer (see fakeStepSchema). */
export type FakeStep = z.infer<typeof fakeStepSchema>;
