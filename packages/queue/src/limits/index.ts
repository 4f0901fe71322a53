export { type LimitKeys, limitKeys } from './limit-keys.ts';
export type { RedisClient, ReplicaAcks } from './lua-command.ts';
export { type ModelLimitState, ModelLimitStates, pausedForMs } from './model-limit-states.ts';
export {
  type AcquireOptions,
  type AcquireResult,
  type LeaseInfo,
  type LimitReason,
  ModelLimiter,
  type ModelLimiterOptions,
  type ReleaseResult,
  type SlotPart,
  type WindowState,
} from './model-limiter.ts';
export { type ModelLimits, toModelLimits } from './model-limits.ts';
