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
    headers: c.headers && withEnv(c.headers, init.env),
    query: c.query,
  };
}

/** `${NAME}` in a header value is the env variable NAME (a key kept out of the config file), read once at start. */
function withEnv(headers: Record<string, string>, env: LanguageModelInit['env']): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).map(([k, v]) => [
      k,
      v.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => env[name] ?? ''),
    ]),
  );
}
