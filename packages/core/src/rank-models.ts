import type { OrchexConfig } from './config-schema.ts';
import { microsToUsd, outputLimit, usdToMicros, worstCaseMicros } from './cost.ts';
import { findModel } from './find-model.ts';
import { qualityOf } from './model-quality.ts';
import type { ModelSignals } from './model-signals.ts';
import type { Strategy } from './vocabulary.ts';

/** What a strategy ranks models for. */
export interface RankRequest {
  /** Candidate model names (configured), in the order a tie keeps. */
  candidates: readonly string[];
  strategy: Strategy;
  /** Models below this quality are left out; undefined = no floor. */
  minQuality: number | undefined;
  /** Provider-neutral input estimate and the output asked for: what must fit, and what the cost figure prices. */
  inputTokens: number;
  maxTokens: number;
}

/** The ranked plan and the figures that decided it, for routing_reason. */
export interface Ranking {
  order: [string, ...string[]];
  reason: string;
}

interface Figures {
  name: string;
  quality: number;
  /** Worst case of one call: input + max_tokens (clamped) at the model's prices. */
  costMicros: number;
  /** p50 ms per output token, when measured. */
  msPerToken: number | undefined;
  samples: number;
  score: number;
}

/**
 * Orders the candidates by a strategy (docs/routing.md). Only models that can take the call are ranked: the input
 * plus max_tokens fits their window, their quality is at or above the floor, and their worst case is within
 * cost_limits.max_per_request. Undefined when none can, and the caller keeps its plan as written.
 *
 * - cost: cheapest worst case first (ties: higher quality);
 * - quality: highest quality first (ties: cheaper);
 * - speed: lowest p50 ms per output token first among measured models, then the unmeasured in candidate order;
 * - balanced: highest weighted score of quality/100, cheapness and speed, the last two on a log scale between the
 *   cheapest/fastest (1) and dearest/slowest (0) candidate; an unmeasured model scores 0.5 for speed.
 */
export function rankModels(req: RankRequest, config: OrchexConfig, signals: ModelSignals): Ranking | undefined {
  const limit = config.cost_limits.max_per_request;
  const limitMicros = limit === undefined ? undefined : usdToMicros(limit);
  const minSamples = config.routing.min_latency_samples;
  const figures: Figures[] = [];
  for (const name of req.candidates) {
    const m = findModel(config, name);
    if (!m || req.inputTokens + req.maxTokens > m.max_tokens) continue;
    const quality = qualityOf(m);
    if (req.minQuality !== undefined && quality < req.minQuality) continue;
    const costMicros = worstCaseMicros(req.inputTokens, outputLimit(m, req.maxTokens), m);
    if (limitMicros !== undefined && costMicros > limitMicros) continue;
    const s = signals[name];
    const measured = s && s.samples >= minSamples ? s.msPerTokenP50 : undefined;
    figures.push({ name, quality, costMicros, msPerToken: measured, samples: s?.samples ?? 0, score: 0 });
  }
  if (figures.length === 0) return undefined;
  const byCost = (a: Figures, b: Figures) => a.costMicros - b.costMicros;
  const byQuality = (a: Figures, b: Figures) => b.quality - a.quality;
  const stable = (f: Figures) => req.candidates.indexOf(f.name);
  let ranked: Figures[];
  let show: (f: Figures) => string;
  switch (req.strategy) {
    case 'cost':
      ranked = [...figures].sort((a, b) => byCost(a, b) || byQuality(a, b) || stable(a) - stable(b));
      show = (f) => `${f.name} ${usd(f.costMicros)} (quality ${f.quality})`;
      break;
    case 'quality':
      ranked = [...figures].sort((a, b) => byQuality(a, b) || byCost(a, b) || stable(a) - stable(b));
      show = (f) => `${f.name} quality ${f.quality} (${usd(f.costMicros)})`;
      break;
    case 'speed': {
      const time = (f: Figures) => f.msPerToken ?? Number.POSITIVE_INFINITY;
      ranked = [...figures].sort((a, b) => time(a) - time(b) || stable(a) - stable(b));
      show = (f) => `${f.name} ${speed(f)}`;
      break;
    }
    case 'balanced': {
      const w = config.routing.balanced;
      const total = w.quality + w.cost + w.speed;
      const cheap = logCloseness(figures.map((f) => f.costMicros));
      const fast = logCloseness(figures.map((f) => f.msPerToken));
      figures.forEach((f, i) => {
        f.score =
          (w.quality * (f.quality / 100) + w.cost * (cheap[i] as number) + w.speed * (fast[i] as number)) / total;
      });
      ranked = [...figures].sort((a, b) => b.score - a.score || stable(a) - stable(b));
      show = (f) => `${f.name} score ${f.score.toFixed(3)} (quality ${f.quality}, ${usd(f.costMicros)}, ${speed(f)})`;
      break;
    }
  }
  const [first, ...rest] = ranked.map((f) => f.name);
  const floor = req.minQuality === undefined ? '' : `, quality ≥ ${req.minQuality}`;
  const left = req.candidates.length - figures.length;
  const dropped = left > 0 ? `; ${left} other candidate(s) too small, below the floor or over max_per_request` : '';
  return {
    order: [first as string, ...rest],
    reason: `strategy ${req.strategy}${floor}: ${ranked.map(show).join(' > ')}${dropped}`,
  };
}

/**
 * For each value, how close it is to the smallest on a log scale: 1 for the smallest, 0 for the largest, 0.5 when
 * unknown or when all are equal. Prices and latencies span orders of magnitude, so a linear scale would flatten all
 * but the extremes.
 */
function logCloseness(values: ReadonlyArray<number | undefined>): number[] {
  const known = values.filter((v): v is number => v !== undefined).map((v) => Math.log1p(v));
  const lo = Math.min(...known);
  const hi = Math.max(...known);
  return values.map((v) => (v === undefined || !(hi > lo) ? 0.5 : 1 - (Math.log1p(v) - lo) / (hi - lo)));
}

const usd = (micros: number) => `$${microsToUsd(micros).toFixed(6)}`;
const speed = (f: Figures) =>
  f.msPerToken === undefined ? `unmeasured (${f.samples} calls)` : `${f.msPerToken} ms/token p50 (${f.samples} calls)`;
