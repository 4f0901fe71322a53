/** An error in OpenAI's shape (`{error: {message, type, param, code}}`), so OpenAI SDKs raise their own classes. */
export class OpenAIError extends Error {
  constructor(
    readonly status: number,
    readonly type: 'invalid_request_error' | 'insufficient_quota' | 'api_error' | 'service_unavailable',
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    /** Seconds, for 429 and 503. */
    readonly retryAfterS?: number,
  ) {
    super(message);
  }

  get body() {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}
