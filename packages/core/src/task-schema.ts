import { z } from 'zod';
import { cacheSetting } from './cache-config-schema.ts';
import { findUnsafeJsonText, safeString } from './safe-string.ts';
import { STRATEGIES } from './vocabulary.ts';

/** Largest context accepted in one task, in characters (~2.5M tokens); larger documents belong in a batch. */
export const MAX_CONTEXT_CHARS = 10_000_000;
const MAX_METADATA_BYTES = 4096;

/** Length of `value` as JSON, or Infinity when it cannot be serialised (nesting deep enough to exhaust the stack). */
function jsonLength(value: unknown): number {
  try {
    return JSON.stringify(value)?.length ?? 0;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/**
 * `metadata`: a small JSON object returned as given. Its size is checked first (and stops the rest), then every key
 * and string at any depth is checked before zod's record rebuilds the object (which would silently drop "__proto__").
 */
const metadataSchema = z
  .unknown()
  .refine((m) => jsonLength(m) <= MAX_METADATA_BYTES, {
    message: `at most ${MAX_METADATA_BYTES} bytes as JSON`,
    abort: true,
  })
  .superRefine((m, ctx) => {
    const unsafe = findUnsafeJsonText(m);
    if (unsafe) ctx.addIssue({ code: 'custom', path: unsafe.path, message: unsafe.message });
  })
  .pipe(z.record(z.string(), z.unknown()));

/**
 * Per-attempt deadline in seconds, kept to whole milliseconds: a deadline with a fraction of a millisecond (2.01 s is
 * 2009.9999999999998 ms in binary) broke the budget hold's expiry. Values that round to 0 ms are refused.
 */
const timeoutSchema = z
  .number()
  .positive('must be positive')
  .max(3600, 'at most 3600 seconds')
  .transform((seconds, ctx) => {
    const ms = Math.round(seconds * 1000);
    if (ms < 1) {
      ctx.addIssue({ code: 'custom', message: 'must be at least 0.001 seconds (1 ms)' });
      return z.NEVER;
    }
    return ms / 1000;
  });

/** One turn of a conversation. */
export const chatMessageSchema = z
  .object({
    role: z.enum(['system', 'user', 'assistant'], 'must be system, user or assistant'),
    content: safeString(z.string().max(1_000_000, 'at most 1,000,000 characters')),
  })
  .strict();

/** A turn of a conversation: role and plain-text content. */
export type ChatMessage = z.output<typeof chatMessageSchema>;

/** A task as submitted over the API (snake_case, like the seed's Python API). */
const taskObjectSchema = z
  .object({
    /** What to ask; required unless `messages` is given, non-empty. */
    prompt: safeString(
      z.string().trim().min(1, 'must be a non-empty string').max(1_000_000, 'at most 1,000,000 characters'),
    ).optional(),
    /**
     * A conversation instead of `prompt` (system, user and assistant turns, ending with what to answer); each provider
     * receives it in its own format. Exactly one of prompt and messages.
     */
    messages: z
      .array(chatMessageSchema)
      .min(1, 'needs at least one message')
      .max(1000, 'at most 1000 messages')
      .optional(),
    /**
     * Picks the routing rule: the six known types, or any type the config has a rule for; any other text (the seed's
     * "explanation") is classified from the prompt. Omitted = classified.
     */
    task_type: z
      .string()
      .trim()
      .toLowerCase()
      .regex(/^[a-z][a-z0-9_-]{0,63}$/, 'must be a word of letters, digits, "_" or "-" (at most 64), e.g. code')
      .optional(),
    /**
     * Plan by a strategy instead of the rule as written: cost, quality, speed or balanced (docs/routing.md). With a
     * fallback_chain it orders the chain's models. Default: the rule's strategy, else the rule as written.
     */
    strategy: z.enum(STRATEGIES, `must be one of ${STRATEGIES.join(', ')}`).optional(),
    /** Quality floor (0–100) for the strategy. Default: the rule's min_quality, else its models' lowest quality. */
    min_quality: z.number().min(0, 'must be between 0 and 100').max(100, 'must be between 0 and 100').optional(),
    /** Largest output in tokens; default 1024. */
    max_tokens: z
      .number()
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .max(200_000, 'at most 200000')
      .default(1024),
    /** Long input text (documents) the prompt refers to. */
    context: safeString(z.string().max(MAX_CONTEXT_CHARS, `at most ${MAX_CONTEXT_CHARS} characters`)).optional(),
    /** Explicit plan: model names tried in order; replaces the routing rule. */
    fallback_chain: z
      .array(safeString(z.string().min(1)))
      .min(1, 'needs at least one model')
      .max(10, 'at most 10 models')
      .optional(),
    /** System prompt. */
    system: safeString(z.string().max(100_000, 'at most 100,000 characters')).optional(),
    /** Sampling temperature, 0–2; default: the model's own. */
    temperature: z.number().min(0, 'must be between 0 and 2').max(2, 'must be between 0 and 2').optional(),
    /** Nucleus sampling, 0–1; default: the model's own. */
    top_p: z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1').optional(),
    /** Write the answer into the task's stream as it arrives (read it with GET /v1/tasks/:id/events). */
    stream: z.boolean().optional(),
    /** Up to 4 sequences that end the answer. */
    stop: z
      .array(safeString(z.string().min(1).max(200)))
      .max(4, 'at most 4 stop sequences')
      .optional(),
    /** Per-attempt deadline in seconds for this task (long research calls), whole milliseconds; default orchestrator.timeout. */
    timeout: timeoutSchema.optional(),
    /**
     * Serve an identical earlier answer from the result cache, and keep this one for later: true (the config's
     * cache.ttl), a TTL in whole seconds (1 … 30 days), or false (never, even if the rule caches). Applies whatever
     * the temperature. Default: the routing rule's `cache`, for tasks with temperature unset or 0.
     */
    cache: cacheSetting.optional(),
    /** Your own small JSON object, returned as is. */
    metadata: metadataSchema.optional(),
    /** The same key from the same API key returns the first task instead of creating another. */
    idempotency_key: safeString(z.string().min(1).max(200, 'at most 200 characters')).optional(),
  })
  .strict();

/**
 * A task as the API takes it: `prompt` or `messages`, and after parsing `prompt` is always set — for a conversation,
 * the text of its last user turn (what routing classifies and records show).
 */
export const taskInputSchema = taskObjectSchema
  .superRefine((t, ctx) => {
    if ((t.prompt === undefined) === (t.messages === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['prompt'], message: 'give either prompt or messages (one of them)' });
    } else if (t.messages && !t.messages.some((m) => m.role === 'user' && m.content.trim())) {
      ctx.addIssue({ code: 'custom', path: ['messages'], message: 'needs at least one non-empty user message' });
    }
  })
  .transform((t) => ({ ...t, prompt: t.prompt ?? lastUserText(t.messages ?? []) }));

/** A validated task: defaults filled in, prompt trimmed (or the last user turn), timeout in whole milliseconds. */
export type TaskInput = z.output<typeof taskInputSchema>;

/** The text of a conversation's last user turn. */
export function lastUserText(messages: readonly ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]?.role === 'user') return messages[i]?.content ?? '';
  return '';
}
