import { z } from 'zod';
import { optionalEnvUrl } from '../shared/optional-env.ts';

/** Ollama's env variable, parsed once when a model is created. Ollama needs no key. */
export const ollamaOptionsSchema = z
  .object({
    /** Its OpenAI-compatible root including /v1; default http://127.0.0.1:11434/v1. Fake server: url + "/ollama/v1". */
    OLLAMA_BASE_URL: optionalEnvUrl,
  })
  .transform((env) => ({ baseURL: env.OLLAMA_BASE_URL ?? 'http://127.0.0.1:11434/v1' }));

/** Parsed Ollama settings. */
export type OllamaOptions = z.output<typeof ollamaOptionsSchema>;
