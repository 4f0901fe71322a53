import type { OrchexConfig } from './config-schema.ts';
import type { ModelConfig } from './model-config-schema.ts';

/**
 * The configured model called `name`, or undefined. An own-property lookup: names come from requests, and a plain
 * `config.models[name]` or `name in config.models` also finds "constructor", "toString" or "__proto__".
 */
export function findModel(config: Pick<OrchexConfig, 'models'>, name: string): ModelConfig | undefined {
  return Object.hasOwn(config.models, name) ? config.models[name] : undefined;
}
