import { ProviderError } from '@orchex/core';

/** The attempt-level failure for a provider whose key variable is unset; no request is sent. */
export function missingKeyError(provider: string, model: string, variable: string): ProviderError {
  return new ProviderError({ provider, model, kind: 'auth', message: `${variable} is not set` });
}
