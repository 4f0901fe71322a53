import type { Env } from './shared/env.ts';

/** What every provider's model class is constructed from; the registry builds it from a ModelConfig. */
export interface LanguageModelInit {
  /** orchex's model name (the config key). */
  modelName: string;
  /** The provider's own model id. */
  modelId: string;
  /** Where keys and base URLs are read from; default process.env (see createLanguageModel). */
  env: Env;
  /** This model's own endpoint and account, over its provider's env defaults (the config's per-model fields). */
  connection?: ModelConnection;
}

/** A model's own way to its server: any OpenAI-compatible service, or a second account of a built-in provider. */
export interface ModelConnection {
  /** API root, instead of the provider's base-URL variable. */
  baseURL?: string | undefined;
  /** The env variable holding this model's key, instead of the provider's. */
  apiKeyEnv?: string | undefined;
  /** Extra headers on every request (e.g. an org id, a gateway's auth). */
  headers?: Record<string, string> | undefined;
  /** Extra query parameters on every request (e.g. Azure OpenAI's api-version). */
  query?: Record<string, string> | undefined;
}
