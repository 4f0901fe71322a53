import type { OrchexConfig } from './config-schema.ts';
import { microsToUsd, modelRates } from './cost.ts';
import { findModel } from './find-model.ts';
import type { ProviderName } from './vocabulary.ts';

/** One model's spend over a range, as the cost rollup sums it (the db's CostSums rows fit it as they are). */
export interface ModelCostRow {
  model: string;
  provider: string;
  requests: number;
  failed: number;
  inputTokens: number;
  outputTokens: number;
  costMicros: number;
  /** Tasks answered from the result cache (no call, not in requests); 0 when absent. */
  cacheHits?: number;
  /** What those answers' original calls cost; 0 when absent. */
  savedMicros?: number;
}

/** Provider families the seed's report speaks of ("Claude", "GPT", …); local = self-hosted models. */
export const PROVIDER_FAMILIES = ['claude', 'gpt', 'gemini', 'local'] as const;

/** One of PROVIDER_FAMILIES. */
export type ProviderFamily = (typeof PROVIDER_FAMILIES)[number];

const FAMILY: Record<ProviderName, ProviderFamily> = {
  anthropic: 'claude',
  openai: 'gpt',
  google: 'gemini',
  ollama: 'local',
};

/** Share of the total in percent with 2 decimals; 0 of 0 is 0. */
const percent = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 10_000) / 100 : 0);

/**
 * The model every request is priced at for "potential cost": `cost_analysis.baseline_model`, else the primary of
 * the research rule (the seed's "research → GPT-4" role), else the default model.
 */
export function defaultBaselineModel(config: OrchexConfig): string {
  return (
    config.cost_analysis.baseline_model ?? config.routing_rules.research?.primary ?? config.orchestrator.default_model
  );
}

/** The CostAnalyzer's figures in the API's units (USD, percent). */
export interface CostAnalysis {
  baseline_model: string;
  total_cost: number;
  potential_cost: number;
  savings: number;
  savings_percent: number;
  total_requests: number;
  failed_requests: number;
  /** Tasks answered from the result cache instead of a model call (not in total_requests). */
  cache_hits: number;
  /** USD the result cache saved: the original cost of every answer it served again (not in `savings`). */
  saved_by_cache: number;
  /** The seed's split: percent of requests on Claude models, ... */
  claude_percent: number;
  /** ... on OpenAI's premium tier (the seed's GPT-4 role: models whose `tier` is premium), ... */
  gpt4_percent: number;
  /** ... and on OpenAI's small tier (the seed's GPT-3.5 role). */
  gpt35_percent: number;
  distribution_by_family: Record<ProviderFamily, number>;
  distribution_by_model: Record<string, number>;
  /**
   * 0–100: 80% how much of the baseline's cost routing saved, 20% the share of requests that succeeded. 100 with no
   * requests: nothing was spent that a better routing could have saved.
   */
  optimization_score: number;
}

/**
 * Prices the same token counts at the baseline's input/output rates (cache discounts are not assumed for the
 * baseline) and scores the routing; see docs/cost-optimization.md "Cost report and analysis" for the formula.
 */
export function analyzeCosts(rows: readonly ModelCostRow[], config: OrchexConfig, baseline: string): CostAnalysis {
  const baselineModel = findModel(config, baseline);
  if (!baselineModel) throw new Error(`baseline model "${baseline}" is not configured`);
  const rates = modelRates(baselineModel);
  // BigInt: a year of tokens times a rate in micro-dollars per million tokens can pass 2^53.
  let potentialNumerator = 0n;
  let actual = 0;
  let requests = 0;
  let failed = 0;
  let cacheHits = 0;
  let savedMicros = 0;
  const byFamily: Record<ProviderFamily, number> = { claude: 0, gpt: 0, gemini: 0, local: 0 };
  const byModel = new Map<string, number>();
  const byTier = { gpt4: 0, gpt35: 0 };
  for (const r of rows) {
    potentialNumerator += BigInt(r.inputTokens) * BigInt(rates.input) + BigInt(r.outputTokens) * BigInt(rates.output);
    actual += r.costMicros;
    requests += r.requests;
    failed += r.failed;
    cacheHits += r.cacheHits ?? 0;
    savedMicros += r.savedMicros ?? 0;
    // Rows are written with one of PROVIDERS; the fallback only keeps a row from a newer version from being lost.
    const family = FAMILY[r.provider as ProviderName] ?? 'local';
    byFamily[family] += r.requests;
    if (r.requests > 0) byModel.set(r.model, (byModel.get(r.model) ?? 0) + r.requests);
    // Tiers from today's config: a model since removed from it counts in its family only.
    const m = Object.hasOwn(config.models, r.model) ? config.models[r.model] : undefined;
    if (m?.provider === 'openai' && m.tier === 'premium') byTier.gpt4 += r.requests;
    if (m?.provider === 'openai' && m.tier === 'small') byTier.gpt35 += r.requests;
  }
  // Rounded up once over the whole range, like costMicros per call.
  const potential = Number((potentialNumerator + 999_999n) / 1_000_000n);
  const savings = potential - actual;
  const efficiency = potential > 0 ? Math.min(1, Math.max(0, savings / potential)) : actual === 0 ? 1 : 0;
  const reliability = requests > 0 ? (requests - failed) / requests : 1;
  return {
    baseline_model: baseline,
    total_cost: microsToUsd(actual),
    potential_cost: microsToUsd(potential),
    savings: microsToUsd(savings),
    savings_percent: percent(savings, potential),
    total_requests: requests,
    failed_requests: failed,
    cache_hits: cacheHits,
    saved_by_cache: microsToUsd(savedMicros),
    claude_percent: percent(byFamily.claude, requests),
    gpt4_percent: percent(byTier.gpt4, requests),
    gpt35_percent: percent(byTier.gpt35, requests),
    distribution_by_family: Object.fromEntries(
      PROVIDER_FAMILIES.map((f) => [f, percent(byFamily[f], requests)]),
    ) as Record<ProviderFamily, number>,
    distribution_by_model: Object.fromEntries(
      [...byModel].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([m, n]) => [m, percent(n, requests)]),
    ),
    optimization_score: Math.round(100 * (0.8 * efficiency + 0.2 * reliability)),
  };
}
