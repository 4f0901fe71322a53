import { assignVariant } from './assign-variant.ts';
import { classifyTask } from './classify-task.ts';
import type { OrchexConfig } from './config-schema.ts';
import { estimateTaskInputTokens } from './estimate-tokens.ts';
import { findModel } from './find-model.ts';
import { qualityOf } from './model-quality.ts';
import { isHealthy, type ModelSignal, type ModelSignals } from './model-signals.ts';
import { rankModels } from './rank-models.ts';
import type { TaskInput } from './task-schema.ts';
import { type Strategy, TASK_TYPES } from './vocabulary.ts';

/** How the plan was chosen. */
export type RoutingStrategy = 'explicit_chain' | 'task_type_rule' | 'classified_rule' | 'default_model';

export interface RoutePlan {
  /** Model names tried in order; plan[0] first; never empty. */
  plan: [string, ...string[]];
  strategy: RoutingStrategy;
  /** Human-readable why, for logs and the API. */
  reason: string;
  /** The task's type: as given (any text), else as classified from the prompt; stored with the task. */
  taskType: string | undefined;
  /** The strategy that ordered the plan (cost, quality, speed, balanced); unset when the rule's order was kept. */
  objective?: Strategy;
  /** The A/B variant of the rule the task was assigned to, by name. */
  variant?: string;
  /**
   * Provider-neutral estimate of input tokens (chars/4, estimateTaskInputTokens), used for context fit. The money
   * estimate uses estimateInputTokens(task, firstModel) instead, which tokenizes for OpenAI models.
   */
  inputTokens: number;
  /** The routing rule that chose the plan (its name in routing_rules); undefined for a chain or the default model. */
  rule?: string | undefined;
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
  Partial<Pick<TaskInput, 'context' | 'system' | 'messages' | 'strategy' | 'min_quality' | 'metadata'>>;

/** What routing reads besides the task and the config. */
export interface RouteContext {
  /** The models' measured latency and health (an empty object: all unmeasured and healthy). */
  signals?: ModelSignals;
  /** The key an A/B rule assigns by: the task's id, unless metadata.ab_key is given. */
  abKey?: string;
}

/**
 * Chooses the models a task will try, in order (docs/routing.md): an explicit fallback_chain wins; else the rule for
 * task_type (classified from the prompt when missing), or its A/B variant; else default_model. A strategy (the
 * task's, the variant's or the rule's) then ranks the candidates instead of the order as written. Models whose
 * context window cannot hold the input plus max_tokens are moved behind those that can (they stay in the plan: the
 * long-context path may still split the input for them); unhealthy models (open circuit) go last. With
 * enable_fallback off, only the first model is kept.
 */
export function route(task: RoutableTask, config: OrchexConfig, ctx: RouteContext = {}): RoutePlan {
  // The approximation, not estimateInputTokens: one figure must order models of different providers (whose
  // tokenizers differ), it costs nothing for a 10M-character context or a batch of thousands, and a wrong fit is
  // recovered anyway (a context_length error skips to the next model; long inputs are split).
  const inputTokens = estimateTaskInputTokens(task);
  const signals = ctx.signals ?? {};
  let plan: [string, ...string[]];
  let strategy: RoutingStrategy;
  let reason: string;
  let taskType = task.task_type;
  let objective: Strategy | undefined = task.strategy;
  let variant: string | undefined;
  // Who a strategy may choose from, and the quality floor it keeps to.
  let candidates: readonly string[];
  let floor: number | undefined = task.min_quality;
  let ruleName: string | undefined;

  if (task.fallback_chain) {
    const aliased: string[] = [];
    const names = task.fallback_chain.map((name, i) => {
      const model = resolveModelName(config, name);
      if (model === undefined) {
        const known = [...Object.keys(config.models), ...Object.keys(config.aliases)].join(', ');
        throw new RoutingError(
          `fallback_chain.${i}`,
          `unknown model "${name}"; configured models and aliases: ${known}`,
        );
      }
      if (model !== name) aliased.push(`${name} → ${model}`);
      return model;
    });
    plan = unique(names);
    strategy = 'explicit_chain';
    reason = `explicit fallback_chain${aliased.length ? ` (aliases: ${aliased.join(', ')})` : ''}`;
    candidates = plan;
  } else {
    let why = `task_type=${taskType}`;
    strategy = 'task_type_rule';
    let ruleType = taskType;
    if (!taskType || (!hasRule(config, taskType) && !KNOWN_TYPES.has(taskType))) {
      // No type, or free text without a rule (the seed's "explanation"): classify the prompt. A known type without a
      // rule in this config goes to the default model, as the caller chose that type.
      const c = classifyTask(task.prompt, inputTokens);
      ruleType = c.type;
      strategy = 'classified_rule';
      why = `${taskType ? `task_type=${taskType} has no rule` : 'no task_type'}; classified as ${c.type ?? '(none)'}: ${c.why}`;
      taskType ??= c.type;
    }
    const rule = ruleType && hasRule(config, ruleType) ? config.routing_rules[ruleType] : undefined;
    if (rule) {
      plan = unique([rule.primary, ...rule.fallback]);
      reason = `${why} → rule ${ruleType}`;
      floor ??= rule.min_quality ?? Math.min(...plan.map((n) => qualityOfName(config, n)));
      objective ??= rule.strategy;
      // A/B: a task that names no strategy of its own is assigned an arm of the rule's test.
      const [first, ...others] = rule.variants ?? [];
      if (first && !task.strategy) {
        const key = typeof task.metadata?.ab_key === 'string' ? task.metadata.ab_key : ctx.abKey;
        if (key !== undefined) {
          const v = assignVariant([first, ...others], ruleType as string, key);
          variant = v.name;
          reason += `; A/B variant ${v.name}`;
          if (v.model !== undefined) {
            plan = unique([v.model, ...plan]);
            objective = undefined;
          } else objective = v.strategy;
        }
      }
      ruleName = ruleType;
    } else {
      plan = [config.orchestrator.default_model];
      strategy = 'default_model';
      reason = `${why} → no rule, default_model`;
      floor ??= qualityOfName(config, config.orchestrator.default_model);
    }
    candidates = Object.keys(config.models);
  }

  if (objective) {
    const ranked = rankModels(
      { candidates, strategy: objective, minQuality: floor, inputTokens, maxTokens: task.max_tokens },
      config,
      signals,
    );
    if (ranked) {
      plan = ranked.order;
      reason += `; ${ranked.reason}`;
    } else reason += `; strategy ${objective}: no model fits above quality ${floor ?? 0}, plan as written`;
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
  // An unhealthy model (open circuit) goes last in new plans; it keeps its place once its half-open probe is ours.
  const unhealthy = config.routing.health.enabled ? plan.filter((n) => !isHealthy(signals[n])) : [];
  if (unhealthy.length > 0 && unhealthy.length < plan.length) {
    plan = unique([...plan.filter((n) => isHealthy(signals[n])), ...unhealthy]);
    reason += `; unhealthy, moved last: ${unhealthy.map((n) => `${n} (${healthText(signals[n] as ModelSignal)})`).join(', ')}`;
  }
  for (const n of plan) if (signals[n]?.probe) reason += `; ${n} probed after its circuit opened`;
  if (!config.orchestrator.enable_fallback && plan.length > 1) {
    plan = [plan[0]];
    reason += '; enable_fallback=false, one model only';
  }
  return {
    plan,
    strategy,
    reason,
    taskType,
    inputTokens,
    ...(objective ? { objective } : {}),
    ...(variant ? { variant } : {}),
    rule: ruleName,
  };
}

const qualityOfName = (config: OrchexConfig, name: string) => {
  const m = findModel(config, name);
  return m ? qualityOf(m) : 0;
};

function healthText(s: ModelSignal): string {
  return `circuit ${s.circuit}, ${Math.round(s.errorRate * 100)}% errors over ${s.outcomes} calls`;
}

/** The configured model a name stands for: itself, or the model an alias resolves to; undefined when neither. */
export function resolveModelName(config: OrchexConfig, name: string): string | undefined {
  if (Object.hasOwn(config.models, name)) return name;
  return Object.hasOwn(config.aliases, name) ? config.aliases[name] : undefined;
}

const hasRule = (config: OrchexConfig, type: string) => Object.hasOwn(config.routing_rules, type);
const KNOWN_TYPES: ReadonlySet<string> = new Set(TASK_TYPES);

/** The names in order, each once; the input is never empty (a fallback_chain has ≥ 1 model, a rule a primary). */
function unique(names: readonly string[]): [string, ...string[]] {
  const [first, ...rest] = [...new Set(names)];
  if (first === undefined) throw new Error('a plan needs at least one model');
  return [first, ...rest];
}
