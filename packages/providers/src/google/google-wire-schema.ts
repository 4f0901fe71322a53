import { z } from 'zod';

const count = z.number().int().nonnegative();

/**
 * The parts of a generateContent response that orchex reads (after @google/genai's conversion, which keeps the
 * wire names). A blocked prompt has no candidates, only promptFeedback, so both are optional here and the model
 * class checks that one of them is present.
 */
export const geminiResponseSchema = z.object({
  candidates: z
    .array(
      z.object({
        content: z
          .object({
            parts: z.array(z.object({ text: z.string().optional(), thought: z.boolean().optional() })).optional(),
          })
          .optional(),
        finishReason: z.string().optional(),
      }),
    )
    .optional(),
  promptFeedback: z.object({ blockReason: z.string().optional() }).optional(),
  usageMetadata: z.object({
    promptTokenCount: count.optional(),
    cachedContentTokenCount: count.optional(),
    candidatesTokenCount: count.optional(),
    thoughtsTokenCount: count.optional(),
  }),
  responseId: z.string().optional(),
  modelVersion: z.string().optional(),
});

/** A validated generateContent response. */
export type GeminiResponse = z.output<typeof geminiResponseSchema>;

/**
 * One chunk of streamGenerateContent: a GenerateContentResponse holding the next piece of text. Gemini sends
 * usageMetadata with the chunks, complete on the last one (the one with finishReason); a server that leaves it out
 * of some chunks is not malformed.
 */
export const geminiStreamChunkSchema = geminiResponseSchema.extend({
  usageMetadata: geminiResponseSchema.shape.usageMetadata.optional(),
});

/** The error body Google APIs send (google.rpc.Status), as far as classification reads it. */
export const geminiErrorBodySchema = z.object({
  error: z.object({
    code: z.number().optional(),
    message: z.string().optional(),
    status: z.string().optional(),
    details: z.array(z.looseObject({ '@type': z.string().optional() })).optional(),
  }),
});
