import type { ModelConfig, ProviderName } from './config-schema.ts';
import type { Usage } from './usage.ts';

/** Money is integer micro-dollars (1 USD = 1,000,000) everywhere inside orchex; USD only at the edges. */
export type Micros = number;

/** Cache prices relative to the input price when the config gives none: each provider's published discount. */
const CACHE_READ_FACTOR: Record<ProviderName, number> = { anthropic: 0.1, openai: 0.1, google: 0.25, ollama: 0 };
const CACHE_WRITE_FACTOR: Record<ProviderName, number> = { anthropic: 1.25, openai: 1, google: 1, ollama: 0 };

/** USD per 1K tokens → micro-dollars per million tokens, an integer for every price with ≤ 9 decimals. */
function perMTok(usdPer1k: number): number {
  return Math.round(usdPer1k * 1e9);
}

/** Integer rates of one model, micro-dollars per million tokens. */
export interface ModelRates {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

export function modelRates(model: ModelConfig): ModelRates {
  return {
    input: perMTok(model.input_cost_per_1k),
    output: perMTok(model.output_cost_per_1k),
    cacheRead: perMTok(model.cache_read_cost_per_1k ?? model.input_cost_per_1k * CACHE_READ_FACTOR[model.provider]),
    cacheWrite: perMTok(model.cache_write_cost_per_1k ?? model.input_cost_per_1k * CACHE_WRITE_FACTOR[model.provider]),
  };
}

/**
 * Cost of one call from the usage the provider reported. Reasoning tokens are part of outputTokens.total and are
 * billed as output. Rounded up once, so a sum of attempts never undercounts by more than 1 micro-dollar each.
 */
export function costMicros(usage: Usage, model: ModelConfig): Micros {
  const r = modelRates(model);
  const numerator =
    usage.inputTokens.noCache * r.input +
    usage.inputTokens.cacheRead * r.cacheRead +
    usage.inputTokens.cacheWrite * r.cacheWrite +
    usage.outputTokens.total * r.output;
  return Math.ceil(numerator / 1e6);
}

/** Worst case of one call: every input token at full price and max output. */
export function worstCaseMicros(inputTokens: number, maxOutputTokens: number, model: ModelConfig): Micros {
  const r = modelRates(model);
  return Math.ceil((inputTokens * r.input + maxOutputTokens * r.output) / 1e6);
}

/** Micro-dollars → USD number for API responses (exact to 6 decimals). */
export function microsToUsd(micros: Micros): number {
  return micros / 1e6;
}

/** USD → micro-dollars, for limits read from config or requests. */
export function usdToMicros(usd: number): Micros {
  return Math.round(usd * 1e6);
}
