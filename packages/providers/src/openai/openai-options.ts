import { z } from 'zod';
import { optionalEnvString, optionalEnvUrl } from '../shared/optional-env.ts';

/** OpenAI's env variables, parsed once when a model is created. */
export const openaiOptionsSchema = z
  .object({
    /** API key; unset → every call fails with kind "auth" and no request is sent. */
    OPENAI_API_KEY: optionalEnvString,
    /** API root including /v1; default https://api.openai.com/v1. For the fake server: its url + "/v1". */
    OPENAI_BASE_URL: optionalEnvUrl,
  })
  .transform((env) => ({
    apiKey: env.OPENAI_API_KEY,
    baseURL: env.OPENAI_BASE_URL ?? 'https://api.openai.com/v1',
  }));

/** Parsed OpenAI settings. */
export type OpenAIOptions = z.output<typeof openaiOptionsSchema>;
