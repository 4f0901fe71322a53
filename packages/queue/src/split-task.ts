import {
  estimateTokens,
  fillTemplate,
  type OrchexConfig,
  splitContext,
  type TaskInput,
  type TaskType,
  worstCaseMicros,
} from '@orchex/core';
import { type Db, deleteSplitTask, insertSplitTask, type TaskRow } from '@orchex/db';
import type { ModelQueues } from './model-queues.ts';
import { taskParams } from './task-params.ts';

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
export function planSplit(input: TaskInput, plan: string[], config: OrchexConfig): SplitPlan | { error: string } {
  const lc = config.long_context;
  const first = plan[0] as string;
  const model = config.models[first]!;
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
  const largest = Math.max(...plan.map((m) => config.models[m]?.max_tokens ?? 0));
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

/**
 * Stores a split task (parent + parts, one transaction) and enqueues it as one flow. If enqueueing fails, the
 * rows are removed again and the error rethrown: nothing half-accepted stays behind.
 */
export async function submitSplitTask(
  db: Db,
  queues: ModelQueues,
  split: SplitPlan,
  task: {
    apiKeyId: string;
    idempotencyKey: string | null;
    input: TaskInput;
    plan: string[];
    routingReason: string;
    taskType: TaskType | undefined;
  },
): Promise<TaskRow> {
  const { input, plan } = task;
  // Parts carry the generation settings but not the caller's metadata, which stays on the task they see.
  const params = (maxTokens: number) => {
    const { metadata: _omit, ...rest } = taskParams(input, maxTokens);
    return rest;
  };
  const common = {
    apiKeyId: task.apiKeyId,
    taskType: task.taskType ?? null,
    system: input.system ?? null,
    plan,
    routingReason: task.routingReason,
  };
  const { parent, maps, reduce } = await insertSplitTask(
    db,
    {
      ...common,
      idempotencyKey: task.idempotencyKey,
      prompt: input.prompt,
      context: input.context ?? null,
      params: taskParams(input),
      routingReason: `${task.routingReason}; input fits no model of the plan: split into ${split.chunks.length} map parts + 1 reduce`,
      estimatedCostMicros: split.worstCaseMicros,
      status: 'running',
      startedAt: new Date(),
    },
    split.chunks.map((chunk, i) => ({
      ...common,
      prompt: split.mapPrompt(i),
      context: chunk,
      params: params(split.mapMaxTokens),
    })),
    // The reduce part keeps the user's prompt; its full prompt (with the parts' answers) is built when it runs.
    { ...common, prompt: input.prompt, context: null, params: params(input.max_tokens) },
  );
  try {
    await queues.enqueueFlow(
      { taskId: reduce.id, model: plan[0] as string },
      maps.map((m) => ({ taskId: m.id, model: plan[0] as string })),
    );
  } catch (err) {
    await deleteSplitTask(db, parent.id).catch(() => {});
    throw err;
  }
  return parent;
}
