export { CostAnalyzer } from './cost-analyzer.ts';
export * from './errors.ts';
export {
  type CostReportOptions,
  type ExecuteBatchOptions,
  Orchestrator,
  type OrchestratorOptions,
} from './orchestrator.ts';
export type * from './types.ts';
