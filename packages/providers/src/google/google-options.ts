import { z } from 'zod';
import { optionalEnvString, optionalEnvUrl } from '../shared/optional-env.ts';

/** Gemini API env variables, parsed once when a model is created. */
export const googleOptionsSchema = z
  .object({
    /** Gemini API key; unset → every call fails with kind "auth" and no request is sent. */
    GOOGLE_API_KEY: optionalEnvString,
    /** API root without /v1beta; default https://generativelanguage.googleapis.com. For the fake server: its url. */
    GOOGLE_BASE_URL: optionalEnvUrl,
  })
  .transform((env) => ({
    apiKey: env.GOOGLE_API_KEY,
    baseURL: env.GOOGLE_BASE_URL ?? 'https://generativelanguage.googleapis.com',
  }));

/** Parsed Gemini settings. */
export type GoogleOptions = z.output<typeof googleOptionsSchema>;
