import { type ErrorKind, estimateTaskInputTokens, type OrchexConfig } from '@orchex/core';

/**
 * Which step of the plan to re-route to after `step` gave up, or undefined when the plan is exhausted or
 * re-routing is off. After a context_length failure, models whose window cannot hold the input are skipped.
 */
export function nextStep(
  plan: string[],
  step: number,
  kind: ErrorKind,
  config: OrchexConfig,
  task: { prompt: string; context?: string | null; system?: string | null; maxTokens: number },
): number | undefined {
  if (!config.orchestrator.enable_fallback) return undefined;
  const needed =
    kind === 'context_length'
      ? estimateTaskInputTokens({
          prompt: task.prompt,
          context: task.context ?? undefined,
          system: task.system ?? undefined,
        }) + task.maxTokens
      : 0;
  for (let i = step + 1; i < plan.length; i++) {
    const model = config.models[plan[i] as string];
    if (!model) continue;
    if (kind === 'context_length' && model.max_tokens < needed) continue;
    // A larger window is the only thing that helps a context_length failure, even if the estimate thought it fit.
    if (kind === 'context_length' && model.max_tokens <= (config.models[plan[step] as string]?.max_tokens ?? 0))
      continue;
    return i;
  }
  return undefined;
}
