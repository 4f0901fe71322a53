import { DEFAULT_BASE_URL, Orchestrator } from '@orchex/client';
import { CliError, EXIT } from './cli-io.ts';

/** The API the CLI talks to when ORCHEX_URL is unset (the client's own default). */
export const DEFAULT_ORCHEX_URL = DEFAULT_BASE_URL;

/**
 * An Orchestrator for ORCHEX_URL (default {@link DEFAULT_ORCHEX_URL}) with ORCHEX_API_KEY; `admin` prefers
 * ORCHEX_ADMIN_KEY (budget changes need it) and falls back to ORCHEX_API_KEY.
 */
export function clientFromEnv(
  env: NodeJS.ProcessEnv,
  options: { admin?: boolean; pollIntervalMs?: number } = {},
): Orchestrator {
  const key = (options.admin ? env.ORCHEX_ADMIN_KEY || env.ORCHEX_API_KEY : env.ORCHEX_API_KEY)?.trim();
  if (!key) {
    const which = options.admin ? 'ORCHEX_ADMIN_KEY (or ORCHEX_API_KEY)' : 'ORCHEX_API_KEY';
    throw new CliError(`${which} is not set: export the API key the server accepts`, EXIT.usage);
  }
  return new Orchestrator({
    baseUrl: env.ORCHEX_URL?.trim() || DEFAULT_ORCHEX_URL,
    apiKey: key,
    ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
  });
}
