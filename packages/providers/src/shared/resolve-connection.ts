import type { LanguageModelInit } from '../language-model-init.ts';

/** A model's key, base URL, and the variable its key comes from, after its own settings are laid over the env's. */
export interface ResolvedConnection {
  apiKey: string | undefined;
  baseURL: string;
  /** Named when the key is missing. */
  keyVariable: string;
  headers: Record<string, string> | undefined;
  query: Record<string, string> | undefined;
}

/**
 * The connection of one model: its config's base_url / api_key_env / headers / query where given, else its
 * provider's env variables (already parsed into `fromEnv`). A key variable named by the config but unset is a missing
 * key — the attempt fails naming it — never a silent fall back to the provider's default account.
 */
export function resolveConnection(
  init: LanguageModelInit,
  fromEnv: { apiKey: string | undefined; baseURL: string },
  keyVariable: string,
): ResolvedConnection {
  const c = init.connection ?? {};
  const ownKey = c.apiKeyEnv === undefined ? undefined : init.env[c.apiKeyEnv]?.trim() || undefined;
  return {
    apiKey: c.apiKeyEnv === undefined ? fromEnv.apiKey : ownKey,
    baseURL: c.baseURL ?? fromEnv.baseURL,
    keyVariable: c.apiKeyEnv ?? keyVariable,
    headers: c.headers,
    query: c.query,
  };
}
