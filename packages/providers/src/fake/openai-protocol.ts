import {
  asRecord,
  type FakeProtocol,
  type FakeProvider,
  type FakeReply,
  paramsOf,
  sseEvent,
  textOf,
} from './fake-protocol.ts';

const ERRORS = {
  rate_limited: [
    'requests',
    'rate_limit_exceeded',
    'Rate limit reached for requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in 120ms.',
  ],
  overloaded: ['server_error', null, 'The server is overloaded or not ready yet.'],
  server: ['server_error', null, 'The server had an error while processing your request. Sorry about that!'],
  context_length: [
    'invalid_request_error',
    'context_length_exceeded',
    "This model's maximum context length is 128000 tokens. However, your messages resulted in 130412 tokens. Please reduce the length of the messages.",
  ],
  auth: [
    'invalid_request_error',
    'invalid_api_key',
    'Incorrect API key provided: sk-fake***wxyz. You can find your API key at https://platform.openai.com/account/api-keys.',
  ],
  content_filter: [
    'invalid_request_error',
    'content_filter',
    'The response was filtered due to the prompt triggering the content management policy.',
  ],
  bad_request: ['invalid_request_error', null, "Missing required parameter: 'messages'."],
} as const;

/**
 * Chat Completions, POST /v1/chat/completions. Ollama's OpenAI-compatible API answers in the same shape but without
 * the token detail objects, which `details: false` leaves out.
 */
export function openaiProtocol(provider: FakeProvider, details: boolean): FakeProtocol {
  const usage = (reply: FakeReply) => {
    const { input, output, cacheRead, reasoning } = reply.usage;
    return {
      prompt_tokens: input,
      completion_tokens: output,
      total_tokens: input + output,
      ...(details
        ? {
            prompt_tokens_details: { cached_tokens: cacheRead, audio_tokens: 0 },
            completion_tokens_details: {
              reasoning_tokens: reasoning,
              audio_tokens: 0,
              accepted_prediction_tokens: 0,
              rejected_prediction_tokens: 0,
            },
          }
        : {}),
    };
  };
  const fingerprint = details ? 'fp_fake' : 'fp_ollama';
  /**
   * One chat.completion.chunk. With include_usage OpenAI also puts `usage: null` on every other chunk; clients read a
   * missing usage the same way, so the fake leaves it out there.
   */
  const chunk = (reply: FakeReply, choices: unknown[], usageField: Record<string, unknown>) =>
    sseEvent({
      id: `chatcmpl-${reply.id}`,
      object: 'chat.completion.chunk',
      created: Math.floor(Date.now() / 1000),
      model: reply.model,
      system_fingerprint: fingerprint,
      choices,
      ...usageField,
    });
  return {
    provider,
    parseRequest(body) {
      const request = asRecord(body);
      if (typeof request?.model !== 'string' || !Array.isArray(request.messages)) return undefined;
      const messages = request.messages.map(asRecord);
      const lastUser = messages.filter((m) => m?.role === 'user').at(-1);
      const all = messages.map((m) => textOf(m?.content)).join('');
      return {
        model: request.model,
        prompt: textOf(lastUser?.content),
        inputChars: all.length,
        stream: request.stream === true,
        includeUsage: asRecord(request.stream_options)?.include_usage === true,
        messages: request.messages,
        system: null,
        params: paramsOf(request, ['messages']),
      };
    },
    okResponse(reply) {
      return {
        headers: { 'x-request-id': `req_${reply.id}` },
        body: {
          id: `chatcmpl-${reply.id}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: reply.model,
          choices: [
            {
              index: 0,
              message: {
                role: 'assistant',
                content: reply.finish === 'content_filter' ? null : reply.text,
                ...(details ? { refusal: null, annotations: [] } : {}),
              },
              logprobs: null,
              finish_reason: reply.finish,
            },
          ],
          usage: usage(reply),
          system_fingerprint: fingerprint,
        },
      };
    },
    errorBody(preset) {
      const [type, code, message] = ERRORS[preset];
      return { error: { message, type, param: preset === 'context_length' ? 'messages' : null, code } };
    },
    // Streaming: `data: {chat.completion.chunk}` lines — OpenAI opens with an empty assistant delta, Ollama puts the
    // role in every delta — then a chunk with finish_reason, the usage chunk (empty choices) when the request set
    // stream_options.include_usage, and `data: [DONE]`.
    streamHead(reply) {
      if (!details) return '';
      return chunk(
        reply,
        [{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }],
        {},
      );
    },
    streamDelta(reply, text) {
      const delta = details ? { content: text } : { role: 'assistant', content: text };
      return chunk(reply, [{ index: 0, delta, logprobs: null, finish_reason: null }], {});
    },
    streamTail(reply, includeUsage) {
      const finish = chunk(reply, [{ index: 0, delta: {}, logprobs: null, finish_reason: reply.finish }], {});
      const usageChunk = includeUsage ? chunk(reply, [], { usage: usage(reply) }) : '';
      return `${finish}${usageChunk}${sseEvent('[DONE]')}`;
    },
    streamError(preset) {
      // OpenAI reports a failure after the stream began as a data line holding an error object (no [DONE]).
      const [type, code, message] = ERRORS[preset];
      return sseEvent({ error: { message, type, param: null, code } });
    },
    malformedStream(variant) {
      return variant === 'not-json'
        ? sseEvent('{"id": "chatcmpl-truncated", "choices": [')
        : sseEvent({ unexpected: true });
    },
  };
}
