import { calcPrice } from '@pydantic/genai-prices';
import type { ProviderName } from './vocabulary.ts';

/**
 * genai-prices' provider id for each of ours. Ollama serves local models, which have no list price: their prices
 * must be written in the config (0 is allowed when written).
 */
const CATALOG_PROVIDER: Record<ProviderName, string | undefined> = {
  anthropic: 'anthropic',
  openai: 'openai',
  google: 'google',
  ollama: undefined,
};

/** One catalogue price in USD per million tokens; a tier replaces `base` when a call's input exceeds its `start`. */
export interface CatalogPrice {
  base: number;
  /** Ascending by `start`; empty for a flat price. */
  tiers: Array<{ start: number; price: number }>;
}

/** The token prices orchex uses from the catalogue; absent = the catalogue has none for this model. */
export type CatalogPrices = Partial<
  Record<'input' | 'output' | 'cacheRead' | 'cacheWrite' | 'cacheWrite1h', CatalogPrice>
>;

const KEYS = {
  input: 'input_mtok',
  output: 'output_mtok',
  cacheRead: 'cache_read_mtok',
  cacheWrite: 'cache_write_mtok',
  cacheWrite1h: 'cache_write_1h_mtok',
} as const;

function toCatalogPrice(value: unknown): CatalogPrice | undefined {
  if (typeof value === 'number') return { base: value, tiers: [] };
  if (value && typeof value === 'object' && 'base' in value && 'tiers' in value) {
    const v = value as { base: number; tiers: Array<{ start: number; price: number }> };
    return { base: v.base, tiers: [...v.tiers].sort((a, b) => a.start - b.start) };
  }
  return undefined;
}

/**
 * List prices of `modelId` at `provider` from the pinned @pydantic/genai-prices data bundled in node_modules
 * (never fetched: orchex does not call updatePrices), as they apply at `at` (default now); undefined when the
 * catalogue does not know the model. Called at config load only, never per call.
 */
export function catalogPrices(
  provider: ProviderName,
  modelId: string,
  at: Date = new Date(),
): CatalogPrices | undefined {
  const providerId = CATALOG_PROVIDER[provider];
  if (!providerId) return undefined;
  // calcPrice with empty usage is the package's public way to match a model id (dated snapshots included) and pick
  // the price in effect at a date; we keep only the matched price table.
  const found = calcPrice({}, modelId, { providerId, timestamp: at });
  if (!found) return undefined;
  const prices: CatalogPrices = {};
  for (const [field, key] of Object.entries(KEYS) as Array<[keyof CatalogPrices, string]>) {
    const price = toCatalogPrice(found.model_price[key]);
    if (price) prices[field] = price;
  }
  return prices;
}
