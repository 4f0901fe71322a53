import { describe, expect, it } from 'vitest';
import { ConfigError, catalogPrices, loadConfig, parseConfig, ratesAt, resolveModelRates } from '../src/index.ts';

/** A one-model config around `model`. */
const withModel = (model: Record<string, unknown>) =>
  parseConfig({
    orchestrator: { default_model: 'my-model' },
    models: { 'my-model': { max_tokens: 100_000, ...model } },
  });

describe('price resolution at config load', () => {
  it('a catalogue model resolves to its list prices, as integer micro-dollars per million tokens', () => {
    const m = withModel({ provider: 'anthropic', model_id: 'claude-opus-4-5' }).models['my-model'];
    expect(m?.rates).toMatchObject({
      input: 5_000_000,
      output: 25_000_000,
      cacheRead: 500_000,
      cacheWrite: 6_250_000,
      cacheWrite1h: 10_000_000,
    });
    expect(m?.input_cost_per_1k).toBe(0.005);
    // Dated snapshot ids match their model.
    expect(catalogPrices('anthropic', 'claude-sonnet-4-5-20250929')?.input?.base).toBe(3);
  });

  it('an override wins per field; the rest comes from the catalogue', () => {
    const m = withModel({ provider: 'openai', model_id: 'gpt-5', output_cost_per_1k: 0.02 }).models['my-model'];
    expect(m?.rates).toMatchObject({ input: 1_250_000, output: 20_000_000, cacheRead: 125_000 });
  });

  it('keeps catalogue tiers and picks them by the call input size', () => {
    const rates = resolveModelRates({ provider: 'google', model_id: 'gemini-2.5-pro' });
    expect(rates.tiers).toEqual([
      {
        aboveInputTokens: 200_000,
        input: 2_500_000,
        output: 15_000_000,
        cacheRead: 250_000,
        cacheWrite: 2_500_000,
        cacheWrite1h: 2_500_000,
      },
    ]);
    expect(ratesAt(rates, 200_000).input).toBe(1_250_000);
    expect(ratesAt(rates, 200_001).input).toBe(2_500_000);
    // An explicit price is flat; the catalogue's other tiered fields keep their tier.
    const flatIn = resolveModelRates({ provider: 'google', model_id: 'gemini-2.5-pro', input_cost_per_1k: 0.001 });
    expect(ratesAt(flatIn, 300_000)).toMatchObject({ input: 1_000_000, output: 15_000_000 });
  });

  it('a model the catalogue does not know derives cache prices from its explicit input price', () => {
    const rates = resolveModelRates({
      provider: 'anthropic',
      model_id: 'claude-test',
      input_cost_per_1k: 0.003,
      output_cost_per_1k: 0.015,
    });
    expect(rates).toMatchObject({
      input: 3_000_000,
      cacheRead: 300_000,
      cacheWrite: 3_750_000,
      cacheWrite1h: 6_000_000,
      tiers: [],
    });
  });

  it('an unknown model fails naming the model and the fields to set', () => {
    const run = () => withModel({ provider: 'openai', model_id: 'gpt-unknown' });
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(
      'models.my-model: no known price for openai/gpt-unknown; set input_cost_per_1k and output_cost_per_1k',
    );
    expect(() => withModel({ provider: 'openai', model_id: 'gpt-unknown', input_cost_per_1k: 0.001 })).toThrow(
      /models\.my-model: no known price for openai\/gpt-unknown; set output_cost_per_1k$/,
    );
  });

  it('ollama without prices fails; with explicit 0 passes', () => {
    expect(() => withModel({ provider: 'ollama', model_id: 'llama3.1:8b' })).toThrow(
      /models\.my-model: no known price for ollama\/llama3\.1:8b; set input_cost_per_1k and output_cost_per_1k \(local models/,
    );
    const m = withModel({ provider: 'ollama', model_id: 'llama3.1:8b', input_cost_per_1k: 0, output_cost_per_1k: 0 })
      .models['my-model'];
    expect(m?.rates).toMatchObject({ input: 0, output: 0, cacheRead: 0, cacheWrite: 0, cacheWrite1h: 0 });
  });

  it('the built-in config resolves every model, with its explicit overrides kept', () => {
    const cfg = loadConfig(undefined);
    for (const [name, m] of Object.entries(cfg.models)) {
      if (m.provider !== 'ollama') expect(m.rates.input, name).toBeGreaterThan(0);
    }
    expect(cfg.models['gpt-4.1']?.rates).toMatchObject({ input: 2_000_000, output: 8_000_000, cacheRead: 500_000 });
  });
});
