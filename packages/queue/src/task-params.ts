import type { TaskInput } from '@orchex/core';
import type { TaskParams } from '@orchex/db';

/** The generation parameters stored with a task, from its API input (`maxTokens` overridable for map parts). */
export function taskParams(input: TaskInput, maxTokens = input.max_tokens): TaskParams {
  return {
    maxTokens,
    ...(input.temperature !== undefined ? { temperature: input.temperature } : {}),
    ...(input.timeout !== undefined ? { timeoutSec: input.timeout } : {}),
    ...(input.metadata !== undefined ? { metadata: input.metadata } : {}),
    ...(input.top_p !== undefined ? { topP: input.top_p } : {}),
    ...(input.stop !== undefined ? { stop: input.stop } : {}),
    ...(input.stream ? { stream: true } : {}),
  };
}
