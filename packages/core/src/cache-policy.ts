import type { OrchexConfig } from './config-schema.ts';
import type { RoutePlan } from './route.ts';
import type { TaskInput } from './task-schema.ts';

/**
 * How long a task's answer is cached, in seconds, or undefined when it is not: the task's own `cache` wins (`true` =
 * the config's cache.ttl, a number is the TTL, `false` = never) and applies whatever its temperature; else the rule
 * that routed it may say `cache`, which applies only when the task's temperature is unset or 0 — a sampled answer
 * is one of many, and serving it again would change what the caller asked for.
 */
export function cacheTtlFor(
  input: Pick<TaskInput, 'cache' | 'temperature'>,
  route: Pick<RoutePlan, 'rule'>,
  config: OrchexConfig,
): number | undefined {
  const ttl = (setting: boolean | number | undefined) =>
    setting === true ? config.cache.ttl : typeof setting === 'number' ? setting : undefined;
  if (input.cache !== undefined) return ttl(input.cache);
  if (input.temperature !== undefined && input.temperature > 0) return undefined;
  const rule =
    route.rule !== undefined && Object.hasOwn(config.routing_rules, route.rule)
      ? config.routing_rules[route.rule]
      : undefined;
  return ttl(rule?.cache);
}
