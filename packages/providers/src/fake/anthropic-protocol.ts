import { asRecord, type FakeProtocol, textOf } from './fake-protocol.ts';

const STOP_REASON = { stop: 'end_turn', length: 'max_tokens', content_filter: 'refusal' } as const;

const ERRORS = {
  rate_limited: [
    'rate_limit_error',
    'This request would exceed the rate limit for your organization of 50 requests per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits.',
  ],
  overloaded: ['overloaded_error', 'Overloaded'],
  server: ['api_error', 'Internal server error'],
  context_length: ['invalid_request_error', 'prompt is too long: 210452 tokens > 200000 maximum'],
  auth: ['authentication_error', 'invalid x-api-key'],
  content_filter: ['invalid_request_error', 'Output blocked by content filtering policy'],
  bad_request: ['invalid_request_error', 'messages: field required'],
} as const;

/** Anthropic Messages API, POST /v1/messages. */
export const anthropicProtocol: FakeProtocol = {
  provider: 'anthropic',
  parseRequest(body) {
    const request = asRecord(body);
    if (typeof request?.model !== 'string' || !Array.isArray(request.messages)) return undefined;
    const messages = request.messages.map(asRecord);
    const lastUser = messages.filter((m) => m?.role === 'user').at(-1);
    const all = textOf(request.system) + messages.map((m) => textOf(m?.content)).join('');
    return { model: request.model, prompt: textOf(lastUser?.content), inputChars: all.length };
  },
  okResponse(reply) {
    const { input, output, cacheRead, cacheWrite, cacheWrite1h } = reply.usage;
    return {
      headers: { 'request-id': `req_${reply.id}` },
      body: {
        id: `msg_${reply.id}`,
        type: 'message',
        role: 'assistant',
        model: reply.model,
        content: reply.finish === 'content_filter' ? [] : [{ type: 'text', text: reply.text }],
        stop_reason: STOP_REASON[reply.finish],
        stop_sequence: null,
        usage: {
          input_tokens: input - cacheRead - cacheWrite,
          cache_creation_input_tokens: cacheWrite,
          cache_read_input_tokens: cacheRead,
          cache_creation: {
            ephemeral_5m_input_tokens: cacheWrite - cacheWrite1h,
            ephemeral_1h_input_tokens: cacheWrite1h,
          },
          output_tokens: output,
          service_tier: 'standard',
        },
      },
    };
  },
  errorBody(preset) {
    const [type, message] = ERRORS[preset];
    return { type: 'error', error: { type, message }, request_id: 'req_fake_error' };
  },
};
