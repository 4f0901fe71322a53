import { cacheSetting, chatMessageSchema, type OrchexConfig, resolveModelName, TASK_TYPES } from '@orchex/core';
import { z } from 'zod';
import { OpenAIError } from './openai-error.ts';

/** A text part of a message's content (OpenAI allows a list of typed parts; orchex takes text only). */
const textPart = z.object({ type: z.literal('text'), text: z.string() }).strict();
const message = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant']),
    content: z.union([z.string(), z.array(textPart).min(1)]),
    name: z.string().optional(),
  })
  .strict();

/**
 * The fields of OpenAI's chat completion request orchex honours. Fields that would change the answer and that
 * orchex cannot honour are refused by name (UNSUPPORTED) rather than silently dropped; anything else unknown too.
 */
export const chatRequestSchema = z
  .object({
    model: z.string().min(1),
    messages: z.array(message).min(1, 'needs at least one message'),
    max_tokens: z.number().int().min(1).nullable().optional(),
    max_completion_tokens: z.number().int().min(1).nullable().optional(),
    temperature: z.number().min(0).max(2).nullable().optional(),
    top_p: z.number().min(0).max(1).nullable().optional(),
    stop: z
      .union([z.string(), z.array(z.string()).max(4)])
      .nullable()
      .optional(),
    user: z.string().max(256).optional(),
    metadata: z.record(z.string(), z.string()).optional(),
    stream: z.boolean().nullable().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).strict().nullable().optional(),
    n: z.number().int().nullable().optional(),
    response_format: z.object({ type: z.string() }).passthrough().optional(),
    // Changes nothing orchex could honour differently; accepted so SDK defaults do not fail.
    store: z.boolean().nullable().optional(),
    service_tier: z.string().nullable().optional(),
    /** orchex's extension: the result cache, as a task's `cache` (true, false or a TTL in seconds). */
    cache: cacheSetting.optional(),
  })
  .strict();

/** Request fields that change the answer in ways orchex cannot honour (yet): a 400 naming the field. */
const UNSUPPORTED = [
  'tools',
  'tool_choice',
  'functions',
  'function_call',
  'parallel_tool_calls',
  'logprobs',
  'top_logprobs',
  'logit_bias',
  'frequency_penalty',
  'presence_penalty',
  'audio',
  'modalities',
  'prediction',
  'web_search_options',
  'reasoning_effort',
  'seed',
] as const;

/** The request as orchex runs it: a task input plus what the response needs. */
export interface ChatTask {
  /** Body for taskInputSchema (snake_case task fields). */
  task: Record<string, unknown>;
  stream: boolean;
  includeUsage: boolean;
}

/** Validates an OpenAI request, refusing what cannot be honoured, and turns it into a task. */
export function parseChatRequest(body: unknown, config: OrchexConfig): ChatTask {
  const record = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  for (const field of UNSUPPORTED) {
    if (record[field] !== undefined && record[field] !== null) {
      throw new OpenAIError(
        400,
        'invalid_request_error',
        `${field} is not supported by orchex`,
        field,
        'unsupported_parameter',
      );
    }
  }
  const parsed = chatRequestSchema.safeParse(body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const param = issue?.code === 'unrecognized_keys' ? (issue.keys[0] ?? null) : (issue?.path.join('.') ?? null);
    const message =
      issue?.code === 'unrecognized_keys' ? `${param} is not a supported parameter` : `${param}: ${issue?.message}`;
    throw new OpenAIError(400, 'invalid_request_error', message, param, null);
  }
  const r = parsed.data;
  if ((r.n ?? 1) !== 1)
    throw new OpenAIError(400, 'invalid_request_error', 'only n=1 is supported', 'n', 'unsupported_value');
  if (r.response_format && r.response_format.type !== 'text') {
    throw new OpenAIError(
      400,
      'invalid_request_error',
      `response_format ${r.response_format.type} is not supported`,
      'response_format',
      'unsupported_value',
    );
  }
  const messages = r.messages.map((m, i) => {
    const content = typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join('');
    const role = m.role === 'developer' ? 'system' : m.role;
    const check = chatMessageSchema.safeParse({ role, content });
    if (!check.success)
      throw new OpenAIError(
        400,
        'invalid_request_error',
        `messages.${i}: ${check.error.issues[0]?.message}`,
        `messages.${i}`,
      );
    return check.data;
  });
  const maxTokens = r.max_completion_tokens ?? r.max_tokens ?? undefined;
  const task: Record<string, unknown> = {
    messages,
    ...routeFor(r.model, config),
    ...(maxTokens ? { max_tokens: maxTokens } : {}),
    ...(r.temperature != null ? { temperature: r.temperature } : {}),
    ...(r.top_p != null ? { top_p: r.top_p } : {}),
    ...(r.stop != null ? { stop: typeof r.stop === 'string' ? [r.stop] : r.stop } : {}),
    ...(r.metadata || r.user ? { metadata: { ...r.metadata, ...(r.user ? { user: r.user } : {}) } } : {}),
    ...(r.cache !== undefined ? { cache: r.cache } : {}),
  };
  return { task, stream: r.stream === true, includeUsage: r.stream_options?.include_usage === true };
}

/**
 * What `model` asks for: `orchex/auto` (classify and route), `orchex/<task_type>` (that rule), or a configured model
 * or alias — that model first, then the fallbacks of the rule it leads (or follows in). Unknown: a 404, as OpenAI.
 */
export function routeFor(model: string, config: OrchexConfig): { fallback_chain?: string[]; task_type?: string } {
  if (model === 'orchex/auto') return {};
  const type = /^orchex\/(.+)$/.exec(model)?.[1];
  if (type !== undefined) {
    if (Object.hasOwn(config.routing_rules, type) || (TASK_TYPES as readonly string[]).includes(type)) {
      return { task_type: type };
    }
    throw notFound(model);
  }
  const name = resolveModelName(config, model);
  if (name === undefined) throw notFound(model);
  const rules = Object.values(config.routing_rules);
  const led = rules.find((r) => r.primary === name);
  if (led) return { fallback_chain: [name, ...led.fallback] };
  const inRule = rules.map((r) => [r.primary, ...r.fallback]).find((plan) => plan.includes(name));
  return { fallback_chain: inRule ? inRule.slice(inRule.indexOf(name)) : [name] };
}

function notFound(model: string): OpenAIError {
  return new OpenAIError(
    404,
    'invalid_request_error',
    `The model \`${model}\` does not exist; GET /v1/models lists the configured models, their aliases and orchex/auto`,
    'model',
    'model_not_found',
  );
}
