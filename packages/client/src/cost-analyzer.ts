import type { Orchestrator } from './orchestrator.ts';
import type { CostAnalysis } from './types.ts';

/** The seed's `CostAnalyzer`: how much routing saved against sending everything to one baseline model. */
export class CostAnalyzer {
  constructor(private readonly orchestrator: Orchestrator) {}

  /**
   * `GET /v1/costs/analysis`: total spent, the potential cost had every request gone to the baseline model (default:
   * the server's cost_analysis.baseline_model, else the research rule's primary — the seed's GPT-4), savings,
   * distribution by provider family and model, and an optimisation score 0–100. Default range: the last 30 days.
   */
  generateReport(options: { from?: string; to?: string; baseline?: string } = {}): Promise<CostAnalysis> {
    return this.orchestrator.getCostAnalysis(options);
  }
}
