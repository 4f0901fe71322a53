import {
  type ModelSignals,
  type OrchexConfig,
  type PlannedTask,
  planTask,
  taskInputSchema,
  zodIssues,
} from '@orchex/core';
import { invalidJson, refusalError, validationError } from './http-errors.ts';
import { OpenAIError } from './openai/openai-error.ts';
import { planChat } from './openai/plan-chat.ts';
import { planBatch } from './plan-batch.ts';
import { requestHash } from './request-hash.ts';

/**
 * Which route a body was sent to: a submit route, POST /v1/estimate (a task's body or a batch's), or POST
 * /v1/chat/completions (OpenAI's body; its errors are OpenAIErrors).
 */
export type RequestKind = 'task' | 'batch' | 'estimate' | 'chat';

/** A submit request, parsed, validated and planned: what the route hands to the submitter. */
export interface PlannedRequest {
  /** One task for POST /v1/tasks; the batch's tasks in order for POST /v1/batches. */
  planned: PlannedTask[];
  idempotencyKey: string | undefined;
  /** The batch's name (batches only). */
  name: string | null;
  /** Hash of the validated request without its idempotency key (see requestHash), stored to detect a reused key. */
  requestHash: string;
  /** A chat completion's response options. */
  chat?: { stream: boolean; includeUsage: boolean };
}

/** UTF-8 (a leading byte order mark dropped, as express.json did; invalid bytes become U+FFFD). */
const utf8 = new TextDecoder('utf-8');

/**
 * Everything a submit does before touching Postgres or Redis, as one synchronous function of the body's bytes: UTF-8
 * decoding, JSON parse, validation, planning (routing with the models' signals, token counting, splitting) and the
 * request hash. Throws
 * HttpError (400, 422). It is CPU work proportional to the body (up to 64 MB), so RequestPlanner runs it on a worker
 * thread for all but small bodies.
 */
export function planRequest(
  kind: RequestKind,
  bytes: Uint8Array,
  config: OrchexConfig,
  signals: ModelSignals = {},
): PlannedRequest {
  const text = utf8.decode(bytes);
  let body: unknown;
  try {
    // An empty body reads as {} (as express.json did): the validation error then names the missing fields.
    body = text.trim() === '' ? {} : JSON.parse(text);
  } catch (err) {
    if (kind === 'chat') throw new OpenAIError(400, 'invalid_request_error', 'the body is not valid JSON');
    throw invalidJson(err);
  }
  if (kind === 'chat') {
    // No idempotency key in OpenAI's request, so nothing to hash.
    const { planned, chat } = planChat(body, config, signals);
    return { planned: [planned], idempotencyKey: undefined, name: null, requestHash: '', chat };
  }
  // An estimate takes either body: a batch's has a `tasks` list (and a task's never has that field).
  if (kind === 'estimate') kind = isBatchBody(body) ? 'batch' : 'task';
  if (kind === 'batch') {
    const batch = planBatch(body, config, signals);
    return {
      planned: batch.planned,
      idempotencyKey: batch.idempotencyKey,
      name: batch.name,
      requestHash: requestHash({ batch: { name: batch.name, tasks: batch.inputs } }),
    };
  }
  const parsed = taskInputSchema.safeParse(body);
  if (!parsed.success) throw validationError(zodIssues(parsed.error));
  const planned = planTask(parsed.data, config, { signals });
  if ('refused' in planned) throw refusalError(planned.refused);
  const { idempotency_key: idempotencyKey, ...request } = parsed.data;
  return { planned: [planned], idempotencyKey, name: null, requestHash: requestHash({ task: request }) };
}

const isBatchBody = (body: unknown) =>
  body !== null && typeof body === 'object' && Array.isArray((body as { tasks?: unknown }).tasks);
