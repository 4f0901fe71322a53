import { z } from 'zod';

const count = z.number().int().nonnegative();

/** The parts of a Messages API response body that orchex reads; anything else may change freely. */
export const anthropicMessageSchema = z.object({
  id: z.string(),
  model: z.string(),
  content: z.array(z.object({ type: z.string(), text: z.string().optional() })),
  stop_reason: z.string().nullable(),
  usage: z.object({
    input_tokens: count,
    output_tokens: count,
    cache_creation_input_tokens: count.nullish(),
    cache_read_input_tokens: count.nullish(),
    /** The same writes split by cache lifetime (priced differently); absent on older responses. */
    cache_creation: z
      .object({ ephemeral_5m_input_tokens: count.nullish(), ephemeral_1h_input_tokens: count.nullish() })
      .nullish(),
  }),
});

/** A validated Messages API response body. */
export type AnthropicMessage = z.output<typeof anthropicMessageSchema>;
