import { asRecord, type FakeProtocol, type FakeProvider, textOf } from './fake-protocol.ts';

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
  return {
    provider,
    parseRequest(body) {
      const request = asRecord(body);
      if (typeof request?.model !== 'string' || !Array.isArray(request.messages)) return undefined;
      const messages = request.messages.map(asRecord);
      const lastUser = messages.filter((m) => m?.role === 'user').at(-1);
      const all = messages.map((m) => textOf(m?.content)).join('');
      return { model: request.model, prompt: textOf(lastUser?.content), inputChars: all.length };
    },
    okResponse(reply) {
      const { input, output, cacheRead, reasoning } = reply.usage;
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
          usage: {
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
          },
          system_fingerprint: details ? 'fp_fake' : 'fp_ollama',
        },
      };
    },
    errorBody(preset) {
      const [type, code, message] = ERRORS[preset];
      return { error: { message, type, param: preset === 'context_length' ? 'messages' : null, code } };
    },
  };
}
