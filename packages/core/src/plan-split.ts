import type { OrchexConfig } from './config-schema.ts';
import { worstCaseMicros } from './cost.ts';
import { estimateTokens } from './estimate-tokens.ts';
import { findModel } from './find-model.ts';
import { fillTemplate } from './long-context-schema.ts';
import { splitContext } from './split-context.ts';
import type { TaskInput } from './task-schema.ts';

/** How a too-large input will be split: its chunks, and the worst-case cost of all parts together. */
export interface SplitPlan {
  chunks: string[];
  /** Map prompt of chunk i (0-based). */
  mapPrompt: (i: number) => string;
  /** Σ worst cases of the map parts plus the reduce part on plan[0]. */
  worstCaseMicros: number;
  /** Output limit of each map part (long_context.map_max_tokens). */
  mapMaxTokens: number;
}

/**
 * Plans the split of a task whose input fits no model of its plan. Chunks are sized for plan[0]'s window: room for
 * the map prompt, the system prompt and the map output, capped by long_context.chunk_tokens. Returns an error
 * message instead when even one chunk cannot fit (the prompt alone fills the window).
 */
export function planSplit(
  input: TaskInput,
  plan: readonly [string, ...string[]],
  config: OrchexConfig,
): SplitPlan | { error: string } {
  const lc = config.long_context;
  const [first] = plan;
  const model = findModel(config, first);
  if (!model) throw new Error(`routed to unconfigured model "${first}"`);
  const count = '{count}';
  const promptTokens =
    estimateTokens(fillTemplate(lc.map_prompt, { prompt: input.prompt, index: 9999, count })) +
    estimateTokens(input.system ?? '') +
    16;
  const room = Math.min(lc.chunk_tokens, model.max_tokens - lc.map_max_tokens - promptTokens);
  if (room < 200) {
    return {
      error: `the prompt leaves no room for context in ${first}'s window (${model.max_tokens} tokens); shorten the prompt`,
    };
  }
  const overlap = Math.min(lc.overlap_tokens, Math.floor(room / 4));
  const chunks = splitContext(input.context ?? '', room, overlap);
  const mapPrompt = (i: number) =>
    fillTemplate(lc.map_prompt, { prompt: input.prompt, index: i + 1, count: chunks.length });
  const maps = chunks.reduce(
    (sum, c) => sum + worstCaseMicros(estimateTokens(c) + promptTokens, lc.map_max_tokens, model),
    0,
  );
  const reduceInput =
    chunks.length * lc.map_max_tokens + estimateTokens(lc.reduce_prompt) + estimateTokens(input.prompt);
  // The reduce reads every part's answer at once; there is no second level of reduction, so refuse up front (before
  // any money is spent) when even the largest window of the plan could not hold the answers at their longest.
  const largest = Math.max(...plan.map((m) => findModel(config, m)?.max_tokens ?? 0));
  if (reduceInput + input.max_tokens > largest) {
    return {
      error:
        `the document needs ${chunks.length} parts whose answers (up to ${lc.map_max_tokens} tokens each) would not fit ` +
        `any model of the plan for the final combining step (largest window ${largest}); add a larger-window model ` +
        'to fallback_chain or lower long_context.map_max_tokens',
    };
  }
  return {
    chunks,
    mapPrompt,
    mapMaxTokens: lc.map_max_tokens,
    worstCaseMicros: maps + worstCaseMicros(reduceInput, input.max_tokens, model),
  };
}
