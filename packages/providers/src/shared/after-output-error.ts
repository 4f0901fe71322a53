import { ProviderError } from '@orchex/core';

/**
 * `error` as it reads when a stream failed after some of its text was delivered: the answer was cut (afterOutput),
 * and the provider did work, and may bill it, although no complete answer came back (outcomeUnknown).
 */
export function afterOutputError(error: ProviderError): ProviderError {
  return new ProviderError({
    provider: error.provider,
    model: error.model,
    kind: error.kind,
    message: error.message,
    statusCode: error.statusCode,
    retryAfterMs: error.retryAfterMs,
    outcomeUnknown: true,
    afterOutput: true,
    cause: error.cause,
  });
}
