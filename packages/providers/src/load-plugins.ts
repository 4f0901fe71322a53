import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LanguageModelInit } from './language-model-init.ts';
import type { PluginLanguageModel } from './stream-from-generate.ts';

/**
 * A provider added from outside orchex. A plugin module's default export (or its named export `plugin`) is one:
 * a provider name the config's models use as their `provider`, and a function that builds one model. The model's
 * `doGenerate` resolves with a GenerateResult; to steer retries and fallbacks it rejects with an Error carrying
 * `kind` (an ErrorKind: rate_limited, overloaded, server, timeout, connection, bad_request, auth, context_length,
 * content_filter, malformed_response) and optionally `statusCode` and `retryAfterMs`; any other error counts as a
 * retryable `server` failure. A model without `doStream` streams its doGenerate answer as one delta
 * (withStreaming). See docs/providers.md.
 */
export interface ProviderPlugin {
  provider: string;
  createModel(init: LanguageModelInit): PluginLanguageModel;
}

/** One `plugins:` entry of the config. */
export interface PluginSpec {
  /** The provider name the plugin must declare. */
  provider: string;
  /** An npm package name, or a path (absolute, or resolved against the config file's folder at load). */
  module: string;
}

/**
 * Imports every plugin and checks it declares the provider the config expects and a createModel function; a plugin
 * that cannot be loaded or does not fit stops the process at start, naming the plugin.
 */
export async function loadPlugins(specs: readonly PluginSpec[]): Promise<Map<string, ProviderPlugin>> {
  const loaded = new Map<string, ProviderPlugin>();
  for (const spec of specs) {
    const what = `plugin "${spec.provider}" (${spec.module})`;
    let mod: Record<string, unknown>;
    try {
      mod = (await import(isAbsolute(spec.module) ? pathToFileURL(spec.module).href : spec.module)) as Record<
        string,
        unknown
      >;
    } catch (err) {
      throw new Error(`${what} could not be loaded: ${(err as Error).message}`);
    }
    const plugin = (mod.default ?? mod.plugin) as Partial<ProviderPlugin> | undefined;
    if (!plugin || typeof plugin.createModel !== 'function') {
      throw new Error(`${what} exports no provider plugin: export default { provider, createModel(init) }`);
    }
    if (plugin.provider !== spec.provider) {
      throw new Error(`${what} declares provider "${String(plugin.provider)}", not "${spec.provider}"`);
    }
    loaded.set(spec.provider, plugin as ProviderPlugin);
  }
  return loaded;
}
