export { createStepMetrics, type LimiterWaitReason, type MoneyLimitKind, type StepMetrics } from './step-metrics.ts';
