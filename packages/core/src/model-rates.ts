import { type CatalogPrice, type CatalogPrices, catalogPrices } from './catalog-prices.ts';
import { isProviderName, type ProviderName } from './vocabulary.ts';

/**
 * Integer prices of one model for calls of one input size, in micro-dollars per million tokens (USD per MTok × 1e6),
 * so a cost is `Σ tokens × rate / 1e6` micro-dollars with no float drift.
 */
export interface RateSet {
  /** Uncached input. */
  input: number;
  output: number;
  /** Input read from the prompt cache. */
  cacheRead: number;
  /** Input written to the prompt cache with the default lifetime (Anthropic: 5 minutes). */
  cacheWrite: number;
  /** Input written to Anthropic's 1-hour cache; equals cacheWrite for providers without one. */
  cacheWrite1h: number;
}

/** The resolved rates of one model: the base set, plus sets that replace it for larger inputs. */
export interface ModelRates extends RateSet {
  /** Long-context prices (e.g. Gemini 2.5 Pro above 200K input tokens), ascending; empty for flat-priced models. */
  tiers: Array<RateSet & { aboveInputTokens: number }>;
}

/**
 * The rate set for a call with `inputTokens` input tokens (cached included), as the providers bill it: once the
 * input exceeds a tier's threshold, every token of the call is priced at that tier.
 */
export function ratesAt(rates: ModelRates, inputTokens: number): RateSet {
  let set: RateSet = rates;
  for (const tier of rates.tiers) if (inputTokens > tier.aboveInputTokens) set = tier;
  return set;
}

/** Config price fields, USD per 1,000 tokens; each one given overrides the catalogue for that field only. */
export interface PriceOverrides {
  input_cost_per_1k?: number | undefined;
  output_cost_per_1k?: number | undefined;
  cache_read_cost_per_1k?: number | undefined;
  cache_write_cost_per_1k?: number | undefined;
  cache_write_1h_cost_per_1k?: number | undefined;
}

type Field = keyof RateSet;
const CONFIG_KEY: Record<Field, keyof PriceOverrides> = {
  input: 'input_cost_per_1k',
  output: 'output_cost_per_1k',
  cacheRead: 'cache_read_cost_per_1k',
  cacheWrite: 'cache_write_cost_per_1k',
  cacheWrite1h: 'cache_write_1h_cost_per_1k',
};

/**
 * Cache prices relative to the input price, used only when neither the config nor the catalogue has one (models the
 * catalogue does not know). Chosen not to undercount: Anthropic's published 0.1× read, 1.25× 5-minute and 2× 1-hour
 * write; OpenAI's smallest cached-input discount (gpt-4o, 0.5×); Gemini's explicit-cache 0.25×; no discount for
 * local models. Providers other than Anthropic bill no separate cache write, so a "write" is plain input there.
 */
const DERIVED: Record<ProviderName, Record<'cacheRead' | 'cacheWrite' | 'cacheWrite1h', number>> = {
  anthropic: { cacheRead: 0.1, cacheWrite: 1.25, cacheWrite1h: 2 },
  openai: { cacheRead: 0.5, cacheWrite: 1, cacheWrite1h: 1 },
  google: { cacheRead: 0.25, cacheWrite: 1, cacheWrite1h: 1 },
  ollama: { cacheRead: 1, cacheWrite: 1, cacheWrite1h: 1 },
};

/** A configured model whose price is not known: the message says which fields to set. */
export class UnknownPriceError extends Error {
  override readonly name = 'UnknownPriceError';
}

/** USD per 1K tokens → micro-dollars per million tokens; exact for prices with up to 9 decimals. */
const fromPer1k = (usd: number) => Math.round(usd * 1e9);
/** USD per million tokens → micro-dollars per million tokens; exact for prices with up to 6 decimals. */
const fromPerMTok = (usd: number) => Math.round(usd * 1e6);

/** The catalogue price that applies to calls whose input exceeds `above` tokens (-1 = base). */
function priceAbove(price: CatalogPrice, above: number): number {
  let p = price.base;
  for (const t of price.tiers) if (above >= t.start) p = t.price;
  return p;
}

/**
 * Resolves the integer rates of one model, field by field: the config's value wins, else the pinned
 * @pydantic/genai-prices catalogue (by provider + model_id), else — for cache fields only — a documented factor of
 * the input price (see DERIVED). Input and output must come from the config or the catalogue: otherwise this throws
 * UnknownPriceError naming the fields to set, so no model is ever silently free. Run once at config load.
 */
export function resolveModelRates(
  model: PriceOverrides & { provider: string; model_id: string },
  at: Date = new Date(),
): ModelRates {
  const explicit = (f: Field) => model[CONFIG_KEY[f]];
  const needsCatalog = (Object.keys(CONFIG_KEY) as Field[]).some((f) => explicit(f) === undefined);
  const builtIn = isProviderName(model.provider) ? model.provider : undefined;
  const catalog: CatalogPrices =
    (needsCatalog && builtIn ? catalogPrices(builtIn, model.model_id, at) : undefined) ?? {};
  const missing = (['input', 'output'] as const).filter((f) => explicit(f) === undefined && !catalog[f]);
  if (missing.length) {
    const kind = builtIn === 'ollama' ? 'local' : builtIn === undefined ? 'plugin' : undefined;
    const why = kind ? ` (${kind} models have no list price; 0 is allowed)` : '';
    throw new UnknownPriceError(
      `no known price for ${model.provider}/${model.model_id}; set ${missing.map((f) => CONFIG_KEY[f]).join(' and ')}${why}`,
    );
  }

  const setAbove = (above: number): RateSet => {
    const rate = (f: Field): number | undefined => {
      const usd = explicit(f);
      if (usd !== undefined) return fromPer1k(usd);
      const price = catalog[f];
      return price ? fromPerMTok(priceAbove(price, above)) : undefined;
    };
    const input = rate('input') as number;
    const derived = (f: 'cacheRead' | 'cacheWrite' | 'cacheWrite1h') =>
      rate(f) ?? Math.round(input * (builtIn ? DERIVED[builtIn][f] : 1));
    const cacheWrite = derived('cacheWrite');
    return {
      input,
      output: rate('output') as number,
      cacheRead: derived('cacheRead'),
      cacheWrite,
      // A catalogue without a 1-hour price (non-Anthropic) bills every write alike.
      cacheWrite1h: rate('cacheWrite1h') ?? (model.provider === 'anthropic' ? derived('cacheWrite1h') : cacheWrite),
    };
  };

  // Only tiers of fields actually taken from the catalogue matter; an explicit price is flat.
  const starts = new Set<number>();
  for (const f of Object.keys(CONFIG_KEY) as Field[]) {
    if (explicit(f) === undefined) for (const t of catalog[f]?.tiers ?? []) starts.add(t.start);
  }
  const tiers = [...starts].sort((a, b) => a - b).map((above) => ({ ...setAbove(above), aboveInputTokens: above }));
  return { ...setAbove(-1), tiers };
}
