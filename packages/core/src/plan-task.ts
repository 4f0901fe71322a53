import { cacheTtlFor } from './cache-policy.ts';
import type { OrchexConfig } from './config-schema.ts';
import { microsToUsd, outputLimit, usdToMicros, worstCaseMicros } from './cost.ts';
import { estimateInputTokens } from './estimate-input-tokens.ts';
import { findModel } from './find-model.ts';
import type { ModelConfig } from './model-config-schema.ts';
import type { ModelSignals } from './model-signals.ts';
import { planSplit, type SplitPlan } from './plan-split.ts';
import { type RoutePlan, RoutingError, route } from './route.ts';
import type { TaskInput } from './task-schema.ts';
import type { TextPieces } from './text-pieces.ts';

/** A task ready to store and enqueue: its input, where it goes, what it may cost, and how it is split if it must be. */
export interface PlannedTask {
  /** The task's id, chosen before it is stored so that an A/B rule can assign it by its hash. */
  id: string;
  input: TaskInput;
  route: RoutePlan;
  /** The model the task starts on: plan[firstStep]. */
  first: string;
  /**
   * The step it starts at: 0, unless the first models' worst cases exceed cost_limits.max_per_request — those are
   * skipped (the routing reason says so). A split task always starts at 0.
   */
  firstStep: number;
  /**
   * Worst case of the whole task in micro-dollars: the input counted for `first` (a real tokenizer for OpenAI) plus
   * max_tokens of output; for a split task, every map part plus the reduce part.
   */
  estimateMicros: number;
  /** Set when the input fits no model of the plan: the chunks and their map prompts. */
  split: SplitPlan | undefined;
  /**
   * One call on each model of the plan, in plan order (unset for a split task): its input counted for that model,
   * the output it may ask for, and its worst case. What POST /v1/estimate shows per model.
   */
  calls?: CallFigures[];
  /**
   * The long texts of `input` in pieces, when they arrived that way (from the API's planner thread): writers store
   * these instead of slicing `input`'s strings, which would make the process allocate each one whole.
   */
  textPieces?: TextPieces;
  /** Seconds the answer is kept in the result cache (cache-policy.ts); undefined = not cached. Never for a split task. */
  cacheTtlSec?: number | undefined;
}

/** One call of a task on one model, before it is made. */
export interface CallFigures {
  model: string;
  inputTokens: number;
  /** max_tokens, clamped to the model's max_output_tokens. */
  maxOutputTokens: number;
  worstCaseMicros: number;
}

/** Why a task cannot be accepted as submitted; the API answers with `status` and `code`. */
export interface Refusal {
  status: 400 | 422;
  code: 'validation_error' | 'input_too_large' | 'over_max_per_request';
  message: string;
  /** The input field at fault (400 only). */
  field?: string;
}

/** What planning reads besides the task and the config. */
export interface PlanContext {
  /** The models' measured latency and health, read from Redis shortly before (see ModelSignals). Default: none. */
  signals?: ModelSignals;
  /** The task's id; default a new random UUID. */
  taskId?: string;
}

/**
 * The one planner every way in (single task, batch, estimates) goes through, synchronous: route, check the
 * input fits (else plan a split), estimate the worst case, apply `cost_limits.max_per_request` (to each model's call:
 * the task starts on the first one that fits, and is refused only when none does). Refusals are values,
 * not exceptions, so a batch can collect them per task.
 */
export function planTask(
  input: TaskInput,
  config: OrchexConfig,
  ctx: PlanContext = {},
): PlannedTask | { refused: Refusal } {
  const id = ctx.taskId ?? crypto.randomUUID();
  let routed: RoutePlan;
  try {
    routed = route(input, config, { ...(ctx.signals ? { signals: ctx.signals } : {}), abKey: id });
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
    if (input.messages) {
      // A long document goes in `context` to be split; a conversation is answered whole or not at all.
      const message = `the conversation exceeds every model's window in the plan (${routed.plan.join(', ')}); put long documents in context`;
      return { refused: { status: 422, code: 'input_too_large', message } };
    }
    if (!input.context) {
      const message = `the prompt alone exceeds every model's window in the plan (${routed.plan.join(', ')})`;
      return { refused: { status: 422, code: 'input_too_large', message } };
    }
    split = planned;
  }
  const limit = config.cost_limits.max_per_request;
  const over = (micros: number) => limit !== undefined && micros > usdToMicros(limit);
  const refuse = (micros: number, on: string, more = '') => ({
    refused: {
      status: 422 as const,
      code: 'over_max_per_request' as const,
      message: `estimated worst-case cost $${microsToUsd(micros)} on ${on} exceeds cost_limits.max_per_request $${limit}${more}`,
    },
  });
  if (split) {
    if (over(split.worstCaseMicros)) return refuse(split.worstCaseMicros, first);
    return { id, input, route: routed, first, firstStep: 0, estimateMicros: split.worstCaseMicros, split };
  }
  // Each call is held to max_per_request, so the task starts on the first model of its plan whose call fits.
  const calls = routed.plan.map((name) => callFigures(input, name, findModel(config, name)));
  const worstCases = calls.map((c) => c?.worstCaseMicros);
  const firstStep = worstCases.findIndex((micros) => micros !== undefined && !over(micros));
  if (firstStep < 0) {
    const others =
      routed.plan.length > 1 ? `, and so does every other model of the plan (${routed.plan.slice(1).join(', ')})` : '';
    return refuse(worstCases[0] ?? 0, first, others);
  }
  const start = routed.plan[firstStep] as string;
  const route_ =
    firstStep === 0
      ? routed
      : {
          ...routed,
          reason: `${routed.reason}; ${routed.plan.slice(0, firstStep).join(', ')} over max_per_request $${limit}, starts on ${start}`,
        };
  const cacheTtlSec = cacheTtlFor(input, routed, config);
  return {
    id,
    input,
    route: route_,
    first: start,
    firstStep,
    estimateMicros: worstCases[firstStep] as number,
    split,
    calls: calls.filter((c) => c !== undefined),
    cacheTtlSec,
  };
}

/** One call on `model`: the input counted for it, max_tokens clamped to its max_output_tokens, the worst case. */
function callFigures(input: TaskInput, name: string, model: ModelConfig | undefined): CallFigures | undefined {
  if (!model) return undefined;
  const inputTokens = estimateInputTokens(input, model);
  const maxOutputTokens = outputLimit(model, input.max_tokens);
  return {
    model: name,
    inputTokens,
    maxOutputTokens,
    worstCaseMicros: worstCaseMicros(inputTokens, maxOutputTokens, model),
  };
}
