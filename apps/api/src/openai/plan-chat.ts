import {
  type ModelSignals,
  type OrchexConfig,
  type PlannedTask,
  planTask,
  type Refusal,
  taskInputSchema,
} from '@orchex/core';
import { parseChatRequest } from './chat-request.ts';
import { OpenAIError } from './openai-error.ts';

/**
 * A chat completion request, validated and planned like a task, with OpenAI's errors (OpenAIError). Runs wherever
 * planRequest runs — on a planner thread for bodies over 4 KB — so a 12 MB conversation is never parsed or
 * tokenized on the API's event loop.
 */
export function planChat(
  body: unknown,
  config: OrchexConfig,
  signals: ModelSignals,
): { planned: PlannedTask; chat: { stream: boolean; includeUsage: boolean } } {
  const chat = parseChatRequest(body, config);
  const input = taskInputSchema.safeParse({ ...chat.task, ...(chat.stream ? { stream: true } : {}) });
  if (!input.success) {
    const issue = input.error.issues[0];
    const param = issue?.path.join('.') || null;
    throw new OpenAIError(400, 'invalid_request_error', `${param}: ${issue?.message}`, param);
  }
  const planned = planTask(input.data, config, { signals });
  if ('refused' in planned) throw chatRefusal(planned.refused);
  return { planned, chat: { stream: chat.stream, includeUsage: chat.includeUsage } };
}

/** The planner's refusal in OpenAI's terms. */
function chatRefusal(r: Refusal): OpenAIError {
  if (r.code === 'over_max_per_request')
    return new OpenAIError(429, 'insufficient_quota', r.message, null, 'cost_limit');
  if (r.code === 'input_too_large')
    return new OpenAIError(400, 'invalid_request_error', r.message, 'messages', 'context_length_exceeded');
  if (r.field?.startsWith('fallback_chain'))
    return new OpenAIError(404, 'invalid_request_error', r.message, 'model', 'model_not_found');
  return new OpenAIError(400, 'invalid_request_error', r.message, r.field ?? null);
}
