import type { Env } from './shared/env.ts';

/** What every provider's model class is constructed from; the registry builds it from a ModelConfig. */
export interface LanguageModelInit {
  /** orchex's model name (the config key). */
  modelName: string;
  /** The provider's own model id. */
  modelId: string;
  /** Where keys and base URLs are read from; default process.env (see createLanguageModel). */
  env: Env;
}
