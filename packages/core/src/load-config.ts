import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { configSchema, type OrchexConfig } from './config-schema.ts';
import { DEFAULT_CONFIG_SOURCE } from './default-config.ts';
import { formatIssues, zodIssues } from './format-zod-error.ts';

/** A configuration that cannot be used; the message names the key path and what is allowed. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Validates an already-parsed config object (from YAML, JSON or code) and resolves every model's prices (config
 * override per field, else the pinned genai-prices catalogue); a model with no known price fails naming it.
 */
export function parseConfig(source: unknown, origin = 'config'): OrchexConfig {
  const result = configSchema.safeParse(source);
  if (!result.success) {
    throw new ConfigError(`${origin}: ${formatIssues(zodIssues(result.error))}`);
  }
  return result.data;
}

/** Reads and validates a .yaml/.yml (or .json) config file. */
export function loadConfigFile(path: string): OrchexConfig {
  if (!/\.(ya?ml|json)$/i.test(path)) {
    throw new ConfigError(`ORCHEX_CONFIG: "${path}" must end in .yaml, .yml or .json`);
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`ORCHEX_CONFIG: cannot read "${path}": ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${path}: not valid YAML: ${(err as Error).message}`);
  }
  // A plugin given as a relative path is relative to the config file, wherever the process starts.
  const plugins = (doc as { plugins?: unknown } | null)?.plugins;
  if (Array.isArray(plugins)) {
    for (const p of plugins as Array<{ module?: unknown }>) {
      if (typeof p?.module === 'string' && /^\.{1,2}\//.test(p.module)) p.module = resolve(dirname(path), p.module);
    }
  }
  return parseConfig(doc, path);
}

/** The file at `path` (the parsed env's configPath, from ORCHEX_CONFIG) when set, else the built-in default. */
export function loadConfig(path: string | undefined): OrchexConfig {
  return path ? loadConfigFile(path) : parseConfig(DEFAULT_CONFIG_SOURCE, 'built-in default config');
}
