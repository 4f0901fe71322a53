// The seed README's examples in TypeScript, in order. Each `#region` is copied verbatim into docs/client.md (and the
// README); examples/readme-examples.test.ts runs this file against a started system and checks the copies match.
// Run it yourself: ORCHEX_URL=… ORCHEX_API_KEY=… ORCHEX_ADMIN_KEY=… npx tsx examples/readme-examples.ts

// #region basic-usage
import { BudgetExceededError, CostAnalyzer, Orchestrator, type Task } from '@orchex/client';

// Initialize orchestrator (provider keys live on the server; the client reads ORCHEX_URL and ORCHEX_API_KEY,
// or takes { baseUrl, apiKey } — as it must in a browser)
const orchestrator = new Orchestrator();

// Create a task (no taskType: the server classifies the prompt)
const task: Task = {
  prompt: 'Explain quantum entanglement in simple terms',
  maxTokens: 500,
};

// Execute (automatically routes to best model)
const result = await orchestrator.execute(task);
console.log(result.content);
console.log(`Cost: $${result.cost.toFixed(4)}`);
console.log(`Model used: ${result.model}`);
// #endregion

// #region intelligent-routing
// Code task -> Routes to Claude (best for code)
const codeTask: Task = {
  prompt: 'Write a Python function to calculate fibonacci',
  taskType: 'code',
};

// Research task -> Routes to GPT (best for research)
const researchTask: Task = {
  prompt: 'Summarize recent advances in quantum computing',
  taskType: 'research',
};

// Creative task -> Routes to appropriate model
const creativeTask: Task = {
  prompt: 'Write a short story about AI',
  taskType: 'creative',
};

// Execute all (one batch; results in input order)
const results = await orchestrator.executeBatch([codeTask, researchTask, creativeTask]);
for (const r of results) console.log(r.model, r.error ? `failed: ${r.error.message}` : r.content);
// #endregion

// #region cost-tracking
// Get cost report
const report = await orchestrator.getCostReport();
console.log(`Total cost: $${report.totalCost.toFixed(2)}`);
console.log(`Total requests: ${report.totalRequests}`);
console.log(`Average cost per request: $${report.avgCostPerRequest.toFixed(4)}`);

// Cost breakdown by model
for (const [model, cost] of Object.entries(report.costByModel)) {
  console.log(`${model}: $${cost.toFixed(2)}`);
}
// #endregion

// #region fallback-chains
// If primary fails, try alternatives (model names from the server's config)
const reasoningTask: Task = {
  prompt: 'Complex reasoning task',
  taskType: 'analysis',
  fallbackChain: ['claude-opus', 'gpt-4', 'claude-sonnet'],
};

const reasoned = await orchestrator.execute(reasoningTask);
console.log(`Answered by ${reasoned.model} after ${reasoned.attempts.length} attempt(s)`);
// #endregion

// #region parallel-execution
// Execute multiple independent tasks in parallel
const tasks: Task[] = [
  { prompt: 'Task 1', taskType: 'code' },
  { prompt: 'Task 2', taskType: 'research' },
  { prompt: 'Task 3', taskType: 'analysis' },
];

const parallel = await orchestrator.executeParallel(tasks);
console.log(parallel.map((r) => (r.error ? 'failed' : r.model)));
// #endregion

// #region cost-budget
// Set cost budget (needs the server's admin key)
const admin = new Orchestrator({
  baseUrl: orchestrator.baseUrl,
  apiKey: process.env.ORCHEX_ADMIN_KEY ?? 'your-admin-key',
});
await admin.setBudget({ maxDailyCost: 10.0 });

// Rejects with BudgetExceededError if the limit is reached
const expensiveTask: Task = { prompt: 'Write a detailed literature review', taskType: 'research', maxTokens: 4000 };
try {
  const answer = await orchestrator.execute(expensiveTask);
  console.log(`Within budget: $${answer.cost.toFixed(4)}`);
} catch (err) {
  if (!(err instanceof BudgetExceededError)) throw err;
  console.log(`Budget reached: ${err.message}`);
}
// #endregion

// #region context-window-management
// Large contexts are routed to a model whose window fits them (or split and reassembled)
const longDocument = 'The quick brown fox jumps over the lazy dog. '.repeat(11_000); // ~100,000 words
const longTask: Task = {
  prompt: 'Analyze this document...',
  context: longDocument,
  taskType: 'analysis',
};

const analysis = await orchestrator.execute(longTask);
console.log(`${analysis.model}: ${analysis.content.slice(0, 80)}`);
// #endregion

// #region cost-analysis
// Run various tasks
const kinds = ['code', 'research', 'analysis', 'creative', 'simple'] as const;
const generateRandomTask = (): Task => {
  const taskType = kinds[Math.floor(Math.random() * kinds.length)];
  return { prompt: `A ${taskType} question`, taskType, maxTokens: 200 };
};
for (let i = 0; i < 100; i++) {
  const random = generateRandomTask();
  await orchestrator.execute(random);
}

// Analyze cost efficiency
const analyzer = new CostAnalyzer(orchestrator);
const costs = await analyzer.generateReport();

console.log(`
Cost Analysis Report
====================
Total Spent: $${costs.totalCost.toFixed(2)}
Potential Cost (all ${costs.baselineModel}): $${costs.potentialCost.toFixed(2)}
Savings: $${costs.savings.toFixed(2)} (${costs.savingsPercent.toFixed(1)}%)

Model Distribution:
- Claude: ${costs.distributionByFamily.claude.toFixed(1)}%
- GPT: ${costs.distributionByFamily.gpt.toFixed(1)}%
- Gemini: ${costs.distributionByFamily.gemini.toFixed(1)}%
- Local: ${costs.distributionByFamily.local.toFixed(1)}%

Optimization Score: ${costs.optimizationScore}/100
`);
// #endregion
