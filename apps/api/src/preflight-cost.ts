import {
  estimateInputTokens,
  type ModelConfig,
  microsToUsd,
  type OrchexConfig,
  type TaskInput,
  usdToMicros,
  worstCaseMicros,
} from '@orchex/core';

/**
 * Worst case of a task on the model that runs first: its input counted for that model (a real tokenizer for OpenAI,
 * not routing's chars/4 figure) plus max_tokens of output. Single and batch submits share it.
 */
export function worstCaseOnFirst(input: TaskInput, firstModel: ModelConfig): number {
  return worstCaseMicros(estimateInputTokens(input, firstModel), input.max_tokens, firstModel);
}

/** The reason a task is refused under `cost_limits.max_per_request`, or undefined when it fits. */
export function overMaxPerRequest(
  estimateMicros: number,
  firstModelName: string,
  config: OrchexConfig,
): string | undefined {
  const limit = config.cost_limits.max_per_request;
  if (limit === undefined || estimateMicros <= usdToMicros(limit)) return undefined;
  return `estimated worst-case cost $${microsToUsd(estimateMicros)} on ${firstModelName} exceeds cost_limits.max_per_request $${limit}`;
}
