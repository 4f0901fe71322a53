import { asRecord, type FakeProtocol, type FakeReply, paramsOf, sseEvent, textOf } from './fake-protocol.ts';

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
    return {
      model: request.model,
      prompt: textOf(lastUser?.content),
      inputChars: all.length,
      stream: request.stream === true,
      includeUsage: true,
      messages: request.messages,
      system: request.system ?? null,
      params: paramsOf(request, ['messages', 'system']),
    };
  },
  okResponse(reply) {
    return {
      headers: { 'request-id': `req_${reply.id}` },
      body: {
        ...message(reply),
        content: reply.finish === 'content_filter' ? [] : [{ type: 'text', text: reply.text }],
        stop_reason: STOP_REASON[reply.finish],
        usage: { ...usage(reply), output_tokens: reply.usage.output, service_tier: 'standard' },
      },
    };
  },
  errorBody(preset) {
    const [type, message] = ERRORS[preset];
    return { type: 'error', error: { type, message }, request_id: 'req_fake_error' };
  },
  // Streaming: message_start, content_block_start, a ping, one content_block_delta per delta, content_block_stop,
  // message_delta (stop reason and final usage), message_stop — the Messages API's event order.
  streamHead(reply) {
    const start = {
      type: 'message_start',
      // output_tokens is a small placeholder in message_start; message_delta carries the real count.
      message: { ...message(reply), content: [], stop_reason: null, usage: { ...usage(reply), output_tokens: 1 } },
    };
    return (
      sseEvent(start, 'message_start') +
      sseEvent(
        { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
        'content_block_start',
      ) +
      sseEvent({ type: 'ping' }, 'ping')
    );
  },
  streamDelta(_reply, text) {
    const delta = { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } };
    return sseEvent(delta, 'content_block_delta');
  },
  streamTail(reply) {
    const { input_tokens, cache_creation_input_tokens, cache_read_input_tokens } = usage(reply);
    const delta = {
      type: 'message_delta',
      delta: { stop_reason: STOP_REASON[reply.finish], stop_sequence: null },
      // Cumulative totals, as the API sends them today; older streams carried output_tokens only.
      usage: { input_tokens, cache_creation_input_tokens, cache_read_input_tokens, output_tokens: reply.usage.output },
    };
    return (
      sseEvent({ type: 'content_block_stop', index: 0 }, 'content_block_stop') +
      sseEvent(delta, 'message_delta') +
      sseEvent({ type: 'message_stop' }, 'message_stop')
    );
  },
  streamError(preset) {
    const [type, message] = ERRORS[preset];
    return sseEvent({ type: 'error', error: { type, message } }, 'error');
  },
  malformedStream(variant) {
    return variant === 'not-json'
      ? sseEvent('{"type": "message_start", "message": {', 'message_start')
      : sseEvent({ type: 'message_start', message: { unexpected: true } }, 'message_start');
  },
};

/** The message fields every answer carries. */
function message(reply: FakeReply) {
  return { id: `msg_${reply.id}`, type: 'message', role: 'assistant', model: reply.model, stop_sequence: null };
}

/** Input usage on the wire: uncached input, cache writes (split by lifetime) and cache reads are disjoint. */
function usage(reply: FakeReply) {
  const { input, cacheRead, cacheWrite, cacheWrite1h } = reply.usage;
  return {
    input_tokens: input - cacheRead - cacheWrite,
    cache_creation_input_tokens: cacheWrite,
    cache_read_input_tokens: cacheRead,
    cache_creation: { ephemeral_5m_input_tokens: cacheWrite - cacheWrite1h, ephemeral_1h_input_tokens: cacheWrite1h },
  };
}
