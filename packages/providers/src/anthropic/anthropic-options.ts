import { z } from 'zod';
import { optionalEnvString, optionalEnvUrl } from '../shared/optional-env.ts';

/** Anthropic's env variables, parsed once when a model is created. */
export const anthropicOptionsSchema = z
  .object({
    /** API key; unset → every call fails with kind "auth" and no request is sent. */
    ANTHROPIC_API_KEY: optionalEnvString,
    /** API root without /v1; default https://api.anthropic.com. For the fake server: its url. */
    ANTHROPIC_BASE_URL: optionalEnvUrl,
  })
  .transform((env) => ({
    apiKey: env.ANTHROPIC_API_KEY,
    baseURL: env.ANTHROPIC_BASE_URL ?? 'https://api.anthropic.com',
  }));

/** Parsed Anthropic settings. */
export type AnthropicOptions = z.output<typeof anthropicOptionsSchema>;
