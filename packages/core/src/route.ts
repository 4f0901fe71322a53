import { classifyTask } from './classify-task.ts';
import type { OrchexConfig } from './config-schema.ts';
import { estimateTaskInputTokens } from './estimate-tokens.ts';
import { findModel } from './find-model.ts';
import type { TaskInput } from './task-schema.ts';
import type { TaskType } from './vocabulary.ts';

/** How the plan was chosen. */
export type RoutingStrategy = 'explicit_chain' | 'task_type_rule' | 'classified_rule' | 'default_model';

/** Where a task goes: the models in order, and why. */
export interface RoutePlan {
  /** Model names tried in order; plan[0] first; never empty. */
  plan: [string, ...string[]];
  strategy: RoutingStrategy;
  /** Human-readable why, for logs and the API. */
  reason: string;
  /** The task type used for routing (given or classified). */
  taskType: TaskType | undefined;
  /**
   * Provider-neutral estimate of input tokens (chars/4, estimateTaskInputTokens), used for context fit. The money
   * estimate uses estimateInputTokens(task, firstModel) instead, which tokenizes for OpenAI models.
   */
  inputTokens: number;
}

/** A task names a model the configuration does not know; the API turns this into a 400. */
export class RoutingError extends Error {
  override readonly name = 'RoutingError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

type RoutableTask = Pick<TaskInput, 'prompt' | 'task_type' | 'fallback_chain' | 'max_tokens'> &
  Partial<Pick<TaskInput, 'context' | 'system'>>;

/**
 * Chooses the models a task will try, in order: an explicit fallback_chain wins; else the rule for task_type
 * (classified from the prompt when missing); else default_model. Models whose context window cannot hold the
 * input plus max_tokens are moved behind those that can (they stay in the plan: the long-context path may still
 * split the input for them). With enable_fallback off, only the first model is kept.
 */
export function route(task: RoutableTask, config: OrchexConfig): RoutePlan {
  // The approximation, not estimateInputTokens: one figure must order models of different providers (whose
  // tokenizers differ), it costs nothing for a 10M-character context or a batch of thousands, and a wrong fit is
  // recovered anyway (a context_length error skips to the next model; long inputs are split).
  const inputTokens = estimateTaskInputTokens(task);
  let plan: [string, ...string[]];
  let strategy: RoutingStrategy;
  let reason: string;
  let taskType = task.task_type;

  if (task.fallback_chain) {
    task.fallback_chain.forEach((name, i) => {
      if (!findModel(config, name)) {
        throw new RoutingError(
          `fallback_chain.${i}`,
          `unknown model "${name}"; configured models: ${Object.keys(config.models).join(', ')}`,
        );
      }
    });
    plan = unique(task.fallback_chain);
    strategy = 'explicit_chain';
    reason = 'explicit fallback_chain';
  } else {
    let why = `task_type=${taskType}`;
    strategy = 'task_type_rule';
    if (!taskType) {
      const c = classifyTask(task.prompt, inputTokens);
      taskType = c.type;
      strategy = 'classified_rule';
      why = `no task_type; classified as ${c.type ?? '(none)'}: ${c.why}`;
    }
    const rule = taskType && Object.hasOwn(config.routing_rules, taskType) ? config.routing_rules[taskType] : undefined;
    if (rule) {
      plan = unique([rule.primary, ...rule.fallback]);
      reason = `${why} → rule ${taskType}`;
    } else {
      plan = [config.orchestrator.default_model];
      strategy = 'default_model';
      reason = `${why} → no rule, default_model`;
    }
  }

  const fits = (name: string) => {
    const m = findModel(config, name);
    return m !== undefined && inputTokens + task.max_tokens <= m.max_tokens;
  };
  if (!plan.every(fits) && plan.some(fits)) {
    const before = plan[0];
    plan = unique([...plan.filter(fits), ...plan.filter((n) => !fits(n))]);
    if (plan[0] !== before) reason += `; ${before} window too small for ~${inputTokens} input tokens, ${plan[0]} first`;
  }
  if (!config.orchestrator.enable_fallback && plan.length > 1) {
    plan = [plan[0]];
    reason += '; enable_fallback=false, one model only';
  }
  return { plan, strategy, reason, taskType, inputTokens };
}

/** The names in order, each once; the input is never empty (a fallback_chain has ≥ 1 model, a rule a primary). */
function unique(names: readonly string[]): [string, ...string[]] {
  const [first, ...rest] = [...new Set(names)];
  if (first === undefined) throw new Error('a plan needs at least one model');
  return [first, ...rest];
}
