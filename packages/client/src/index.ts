export { CostAnalyzer } from './cost-analyzer.ts';
export * from './errors.ts';
export {
  type CostReportOptions,
  DEFAULT_BASE_URL,
  type ExecuteBatchOptions,
  Orchestrator,
  type OrchestratorOptions,
} from './orchestrator.ts';
export type * from './types.ts';
