import { microsToUsd } from '@orchex/core';
import type { TaskSummaryWithAttempts } from '@orchex/db';

/** OpenAI's chat.completion object for a finished task, with orchex's own figures under `orchex`. */
export function completion(task: TaskSummaryWithAttempts) {
  const usage = task.usage;
  const prompt = usage?.inputTokens.total ?? 0;
  const output = usage?.outputTokens.total ?? 0;
  return {
    id: `chatcmpl-${task.id}`,
    object: 'chat.completion' as const,
    created: Math.floor(task.createdAt.getTime() / 1000),
    model: task.model ?? '',
    choices: [
      {
        index: 0,
        message: { role: 'assistant' as const, content: task.resultText ?? '', refusal: null },
        finish_reason: finishReason(task.finishReason),
        logprobs: null,
      },
    ],
    usage: { prompt_tokens: prompt, completion_tokens: output, total_tokens: prompt + output },
    orchex: {
      task_id: task.id,
      plan: task.plan,
      attempts: task.attempts.length,
      cost: microsToUsd(task.costMicros),
      /** Answered from the result cache (cost 0), and what its original call cost. */
      cached: task.cached,
      saved_cost: microsToUsd(task.savedCostMicros),
    },
  };
}

/** orchex's unified finish reason in OpenAI's words. */
export function finishReason(unified: string | null): 'stop' | 'length' | 'content_filter' {
  if (unified === 'length') return 'length';
  if (unified === 'content-filter') return 'content_filter';
  return 'stop';
}
