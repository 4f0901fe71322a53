import { z } from 'zod';

const count = z.number().int().nonnegative();

const choice = z.object({
  message: z.object({ content: z.string().nullable() }),
  finish_reason: z.string().nullable(),
});

/**
 * The parts of a Chat Completions response body that orchex reads. Shared by every OpenAI-compatible server
 * (Ollama included), so the token detail objects are optional: only OpenAI sends them.
 */
const usage = z.object({
  prompt_tokens: count,
  completion_tokens: count,
  prompt_tokens_details: z.object({ cached_tokens: count.nullish() }).nullish(),
  completion_tokens_details: z.object({ reasoning_tokens: count.nullish() }).nullish(),
});

export const openaiChatCompletionSchema = z.object({
  id: z.string(),
  model: z.string(),
  // At least one choice; the tuple type lets readers take choices[0] without a check.
  choices: z.tuple([choice], choice),
  usage,
});

/** A validated Chat Completions response body. */
export type OpenAIChatCompletion = z.output<typeof openaiChatCompletionSchema>;

/**
 * One chunk of a streamed Chat Completion. Content chunks carry one choice with a delta; the last content chunk
 * carries finish_reason; with `stream_options.include_usage` a final chunk has no choices and the usage (servers
 * that ignore the option never send it, and send `usage: null` or nothing on the others).
 */
export const openaiChatCompletionChunkSchema = z.object({
  id: z.string(),
  model: z.string(),
  choices: z.array(
    z.object({
      delta: z.object({ content: z.string().nullish() }).nullish(),
      finish_reason: z.string().nullish(),
    }),
  ),
  usage: usage.nullish(),
});
