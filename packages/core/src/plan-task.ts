import type { OrchexConfig } from './config-schema.ts';
import { microsToUsd, usdToMicros, worstCaseMicros } from './cost.ts';
import { estimateInputTokens } from './estimate-input-tokens.ts';
import { findModel } from './find-model.ts';
import { planSplit, type SplitPlan } from './plan-split.ts';
import { type RoutePlan, RoutingError, route } from './route.ts';
import type { TaskInput } from './task-schema.ts';
import type { TextPieces } from './text-pieces.ts';

/** A task ready to store and enqueue: its input, where it goes, what it may cost, and how it is split if it must be. */
export interface PlannedTask {
  input: TaskInput;
  route: RoutePlan;
  /** plan[0], the model of step 0 (of every part, when split). */
  first: string;
  /**
   * Worst case of the whole task in micro-dollars: the input counted for `first` (a real tokenizer for OpenAI) plus
   * max_tokens of output; for a split task, every map part plus the reduce part.
   */
  estimateMicros: number;
  /** Set when the input fits no model of the plan: the chunks and their map prompts. */
  split: SplitPlan | undefined;
  /**
   * The long texts of `input` in pieces, when they arrived that way (from the API's planner thread): writers store
   * these instead of slicing `input`'s strings, which would make the process allocate each one whole.
   */
  textPieces?: TextPieces;
}

/** Why a task cannot be accepted as submitted; the API answers with `status` and `code`. */
export interface Refusal {
  status: 400 | 422;
  code: 'validation_error' | 'input_too_large' | 'over_max_per_request';
  message: string;
  /** The input field at fault (400 only). */
  field?: string;
}

/**
 * The one planner every way in (single task, batch, estimates) goes through, pure and synchronous: route, check the
 * input fits (else plan a split), estimate the worst case, apply `cost_limits.max_per_request`. Refusals are values,
 * not exceptions, so a batch can collect them per task.
 */
export function planTask(input: TaskInput, config: OrchexConfig): PlannedTask | { refused: Refusal } {
  let routed: RoutePlan;
  try {
    routed = route(input, config);
  } catch (err) {
    if (!(err instanceof RoutingError)) throw err;
    return { refused: { status: 400, code: 'validation_error', field: err.field, message: err.message } };
  }
  const [first] = routed.plan;
  const firstModel = findModel(config, first);
  if (!firstModel) throw new Error(`routed to unconfigured model "${first}"`); // route() only plans configured models
  let split: SplitPlan | undefined;
  // route() puts models that fit first: if plan[0] cannot hold the input, none can, and the context is split.
  if (routed.inputTokens + input.max_tokens > firstModel.max_tokens) {
    const planned = planSplit(input, routed.plan, config);
    if ('error' in planned) return { refused: { status: 422, code: 'input_too_large', message: planned.error } };
    if (!input.context) {
      const message = `the prompt alone exceeds every model's window in the plan (${routed.plan.join(', ')})`;
      return { refused: { status: 422, code: 'input_too_large', message } };
    }
    split = planned;
  }
  const estimateMicros =
    split?.worstCaseMicros ?? worstCaseMicros(estimateInputTokens(input, firstModel), input.max_tokens, firstModel);
  const limit = config.cost_limits.max_per_request;
  if (limit !== undefined && estimateMicros > usdToMicros(limit)) {
    const message = `estimated worst-case cost $${microsToUsd(estimateMicros)} on ${first} exceeds cost_limits.max_per_request $${limit}`;
    return { refused: { status: 422, code: 'over_max_per_request', message } };
  }
  return { input, route: routed, first, estimateMicros, split };
}
