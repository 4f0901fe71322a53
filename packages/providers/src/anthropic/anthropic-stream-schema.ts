import { z } from 'zod';
import { anthropicMessageSchema } from './anthropic-wire-schema.ts';

const count = z.number().int().nonnegative();

/**
 * The parts of the Messages API's stream events that orchex reads, one schema per event type. The SDK has already
 * parsed each event's JSON; these check the shape before it is trusted.
 */
export const anthropicStreamSchemas = {
  /** Opens the stream: the message's id, model and input usage (output_tokens is a placeholder here). */
  message_start: z.object({
    message: anthropicMessageSchema.pick({ id: true, model: true, usage: true }),
  }),
  /** Text arrives as text_delta; thinking and tool input arrive as other delta types, which are not the answer. */
  content_block_delta: z.object({
    delta: z.object({ type: z.string(), text: z.string().optional() }),
  }),
  /** The stop reason and the final usage: output_tokens always, the input counts when they changed. */
  message_delta: z.object({
    delta: z.object({ stop_reason: z.string().nullable() }),
    usage: z.object({
      output_tokens: count,
      input_tokens: count.nullish(),
      cache_creation_input_tokens: count.nullish(),
      cache_read_input_tokens: count.nullish(),
    }),
  }),
};

/** The usage of a message_delta event. */
export type AnthropicDeltaUsage = z.output<typeof anthropicStreamSchemas.message_delta>['usage'];
