import { z } from 'zod';

const count = z.number().int().nonnegative();

/**
 * The parts of a Chat Completions response body that orchex reads. Shared by every OpenAI-compatible server
 * (Ollama included), so the token detail objects are optional: only OpenAI sends them.
 */
export const openaiChatCompletionSchema = z.object({
  id: z.string(),
  model: z.string(),
  choices: z
    .array(
      z.object({
        message: z.object({ content: z.string().nullable() }),
        finish_reason: z.string().nullable(),
      }),
    )
    .min(1),
  usage: z.object({
    prompt_tokens: count,
    completion_tokens: count,
    prompt_tokens_details: z.object({ cached_tokens: count.nullish() }).nullish(),
    completion_tokens_details: z.object({ reasoning_tokens: count.nullish() }).nullish(),
  }),
});

/** A validated Chat Completions response body. */
export type OpenAIChatCompletion = z.output<typeof openaiChatCompletionSchema>;
