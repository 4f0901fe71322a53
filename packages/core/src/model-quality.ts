import type { ModelConfig } from './model-config-schema.ts';

/**
 * Default quality scores (0–100) of the built-in lineup, by model id prefix, longest first. They rank models for the
 * `cost` floor, `quality` and `balanced` strategies; they are orchex's own coarse reading of public benchmark
 * standings (2026-11), not a measurement, so a config sets `quality` per model wherever it knows better.
 */
const BUILT_IN_QUALITY: ReadonlyArray<readonly [prefix: string, quality: number]> = [
  ['claude-opus', 95],
  ['gpt-5.5', 94],
  ['gemini-3.1-pro', 91],
  ['claude-sonnet', 90],
  ['gpt-4.1', 82],
  ['gemini-3.5-flash', 80],
  ['gpt-5.4-mini', 76],
  ['claude-haiku', 74],
  ['llama', 55],
];

/** Without a score of its own or a built-in one: by the model's tier, else the middle of the scale. */
const TIER_QUALITY = { premium: 90, standard: 80, small: 65 } as const;
const UNKNOWN_QUALITY = 70;

/** A model's quality score: its config's `quality`, else the built-in lineup's, else its tier's, else 70. */
export function qualityOf(model: Pick<ModelConfig, 'quality' | 'model_id' | 'tier'>): number {
  if (model.quality !== undefined) return model.quality;
  const id = model.model_id.toLowerCase();
  for (const [prefix, quality] of BUILT_IN_QUALITY) if (id.startsWith(prefix)) return quality;
  return model.tier ? TIER_QUALITY[model.tier] : UNKNOWN_QUALITY;
}
