import type { ModelConfig } from './model-config-schema.ts';
import { type ModelRates, ratesAt } from './model-rates.ts';
import type { Usage } from './usage.ts';

/** Money is integer micro-dollars (1 USD = 1,000,000) everywhere inside orchex; USD only at the edges. */
export type Micros = number;

/** The base-tier integer rates of a model (micro-dollars per million tokens), resolved when the config was parsed. */
export function modelRates(model: Pick<ModelConfig, 'rates'>): ModelRates {
  return model.rates;
}

/** ⌈numerator / 1e6⌉ exactly for non-negative integers (a float division can land on the wrong side of an integer). */
function ceilMillionths(numerator: number): Micros {
  const rest = numerator % 1e6;
  return (numerator - rest) / 1e6 + (rest > 0 ? 1 : 0);
}

/**
 * Cost of one call from the usage the provider reported: uncached input, cache reads, cache writes (the 1-hour part
 * at its own price), and output — reasoning tokens are inside outputTokens.total and billed as output. The rate set
 * is the tier for the call's total input. Rounded up once, so a sum of attempts never undercounts.
 */
export function costMicros(usage: Usage, model: Pick<ModelConfig, 'rates'>): Micros {
  const { inputTokens: i, outputTokens: o } = usage;
  const r = ratesAt(model.rates, i.total);
  const write1h = Math.min(i.cacheWrite1h ?? 0, i.cacheWrite);
  return ceilMillionths(
    i.noCache * r.input +
      i.cacheRead * r.cacheRead +
      (i.cacheWrite - write1h) * r.cacheWrite +
      write1h * r.cacheWrite1h +
      o.total * r.output,
  );
}

/**
 * Worst case of one call: every input token at the full input price (of the tier `inputTokens` falls in) and
 * `maxOutputTokens` of output.
 */
export function worstCaseMicros(
  inputTokens: number,
  maxOutputTokens: number,
  model: Pick<ModelConfig, 'rates'>,
): Micros {
  const r = ratesAt(model.rates, inputTokens);
  return ceilMillionths(inputTokens * r.input + maxOutputTokens * r.output);
}

/** The output a call asks for: the task's max_tokens, clamped to the model's max_output_tokens when it has one. */
export function outputLimit(model: Pick<ModelConfig, 'max_output_tokens'>, requested: number): number {
  return Math.min(requested, model.max_output_tokens ?? requested);
}

/** Micro-dollars → USD number for API responses (exact to 6 decimals). */
export function microsToUsd(micros: Micros): number {
  return micros / 1e6;
}

/** USD → micro-dollars, for limits read from config or requests. */
export function usdToMicros(usd: number): Micros {
  return Math.round(usd * 1e6);
}
