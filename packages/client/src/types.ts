/** Task types the router knows (the seed's table); anything else is rejected by the API. */
/** The six task types with rules of their own. */
export type KnownTaskType = 'code' | 'research' | 'analysis' | 'creative' | 'simple' | 'long_context';
/**
 * A task type: a known one, one the server's config has a rule for, or any word (the seed's "explanation"), which
 * the server classifies from the prompt.
 */
export type TaskType = KnownTaskType | (string & {});

/** A task as the client takes it: the seed's `Task(...)` fields in camelCase. */
export interface Task {
  /** What to ask; required unless `messages` is given. */
  prompt?: string;
  /** A conversation instead of `prompt`: system, user and assistant turns, ending with what to answer. */
  messages?: Array<{ role: 'system' | 'user' | 'assistant'; content: string }>;
  /** Picks the routing rule; omitted = the server classifies the prompt. */
  taskType?: TaskType;
  /** Largest output in tokens; server default 1024. */
  maxTokens?: number;
  /** Long input text (documents) the prompt refers to. */
  context?: string;
  /** Explicit plan: model names tried in order; replaces the routing rule. */
  fallbackChain?: string[];
  /**
   * Plan by price, quality score, measured latency or a weighted mix instead of the rule as written (docs/routing.md).
   * Default: the rule's strategy, else the rule as written.
   */
  strategy?: 'cost' | 'quality' | 'speed' | 'balanced';
  /** The strategy's quality floor, 0–100. Default: the rule's. */
  minQuality?: number;
  /** System prompt. */
  system?: string;
  /** Sampling temperature 0–2; default the model's own. */
  temperature?: number;
  /** Nucleus sampling 0–1; default the model's own. */
  topP?: number;
  /** Up to 4 sequences that end the answer. */
  stop?: string[];
  /** Per-attempt deadline in seconds; default the server's orchestrator.timeout. */
  timeout?: number;
  /** Your own small JSON object, returned as given. */
  metadata?: Record<string, unknown>;
  /**
   * Result cache: true (the server's cache.ttl) or a TTL in whole seconds serves an identical earlier answer at $0
   * and keeps this one; false never caches. Default: the routing rule's setting (for temperature unset or 0).
   */
  cache?: boolean | number;
  /** The same key (from the same API key) returns the first task instead of running another. Not allowed in batches. */
  idempotencyKey?: string;
}

/** Token usage of the call that produced a result, normalised across providers. */
export interface Usage {
  inputTokens: { total: number; noCache: number; cacheRead: number; cacheWrite: number; cacheWrite1h?: number };
  outputTokens: { total: number; reasoning: number };
}

/** A task's lifecycle state. */
export type TaskStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** Why a task did not succeed: `kind` is machine-readable (`budget_exceeded`, `rate_limited`, `cancelled`, …). */
export interface TaskErrorInfo {
  kind: string;
  message: string;
}

/** One model call made for a task. */
export interface Attempt {
  step: number;
  attempt: number;
  model: string;
  provider: string;
  outcome: 'succeeded' | 'failed';
  errorKind: string | null;
  errorMessage: string | null;
  statusCode: number | null;
  latencyMs: number;
  inputTokens: number;
  outputTokens: number;
  /** USD. */
  cost: number;
  startedAt: string;
  finishedAt: string;
}

/** A task as `GET /v1/tasks/:id` shows it, in camelCase. */
export interface TaskInfo {
  id: string;
  status: TaskStatus;
  content: string | null;
  model: string | null;
  /** USD, all attempts. */
  cost: number;
  /** Answered from the result cache: no model call, cost 0. */
  cached: boolean;
  /** USD the cached answer's original call cost (0 when not cached). */
  savedCost: number;
  usage: Usage | null;
  finishReason: string | null;
  error: TaskErrorInfo | null;
  taskType: string | null;
  plan: string[];
  currentStep: number;
  routingReason: string;
  /** The A/B variant of its routing rule the task was assigned to; null outside an A/B rule. */
  variant: string | null;
  /** USD, worst case on the first model. */
  estimatedCost: number;
  maxTokens: number;
  metadata: Record<string, unknown> | null;
  batchId: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** Present on single-task reads, absent in batch result pages. */
  attempts?: Attempt[];
}

/** What `POST /v1/tasks` answers: the task is accepted and queued. */
export interface SubmittedTask {
  id: string;
  status: TaskStatus;
  /** The model tried first. */
  model: string;
  plan: string[];
  taskType: string | null;
  routingReason: string;
  /** The strategy that ordered the plan; null when the rule was kept as written. */
  strategy: string | null;
  /** The A/B variant assigned; null outside an A/B rule. */
  variant: string | null;
  /** USD, worst case on the first model. */
  estimatedCost: number;
}

/** `POST /v1/estimate` in camelCase: what the tasks would cost, planned exactly as a submit would plan them. */
export interface Estimate {
  tasks: Array<{
    model: string;
    plan: string[];
    taskType: string | null;
    strategy: string | null;
    variant: string | null;
    routingReason: string;
    /** Map and reduce parts, when the input would be split. */
    parts?: number;
    /** USD: exactly what the submit stores (the worst case of the call it starts with). */
    estimatedCost: number;
    /** USD: the output priced at the model's recent median answer length. */
    expectedCost: number;
    /** One call on each model of the plan (absent for a split task). */
    perModel?: Array<{
      model: string;
      quality: number | null;
      inputTokens: number;
      maxOutputTokens: number;
      expectedCost: number;
      worstCaseCost: number;
      skipped?: string;
    }>;
  }>;
  estimatedCost: number;
  expectedCost: number;
  /** What this key may still spend today (USD; null = no limit), which limit binds, and whether the tasks fit. */
  budget: { day: string; remaining: number | null; limitedBy: 'key' | 'global' | null; fits: boolean };
}

/** A successful task: the seed's `result.content`, `result.cost`, `result.model`, plus what it took. */
export interface TaskResult {
  id: string;
  content: string;
  model: string;
  /** USD, all attempts (failed ones included). */
  cost: number;
  usage: Usage | null;
  finishReason: string | null;
  attempts: Attempt[];
  metadata: Record<string, unknown> | null;
}

/** One entry of executeBatch/executeParallel: the result, or `error` (and no content) when the task did not succeed. */
export type TaskOutcome =
  | (TaskResult & { error?: undefined })
  | {
      /** Null when the task was never accepted (e.g. a ValidationError in executeParallel). */
      id: string | null;
      content: null;
      model: string | null;
      cost: number;
      usage: Usage | null;
      finishReason: string | null;
      attempts: Attempt[];
      metadata: Record<string, unknown> | null;
      error: Error;
    };

/** A batch's state (`GET /v1/batches/:id`). */
export interface BatchInfo {
  id: string;
  name: string | null;
  size: number;
  /** `cancelled` once cancel was asked; `completed` when every task is terminal; else `running`. */
  status: 'running' | 'completed' | 'cancelled';
  counts: Record<TaskStatus, number>;
  /** USD so far. */
  cost: number;
  createdAt: string;
  startedAt: string | null;
  /** Set once every task is terminal. */
  finishedAt: string | null;
}

/** One page of a batch's results, in submission order. */
export interface BatchResultsPage {
  results: Array<TaskInfo & { index: number }>;
  /** Pass back as `cursor` for the next page; null on the last. */
  nextCursor: string | null;
}

/** What executeBatch's onProgress receives after every poll. */
export interface BatchProgress {
  batchId: string;
  total: number;
  /** Tasks finished in any way (succeeded + failed + cancelled). */
  done: number;
  succeeded: number;
  /** Failed or cancelled. */
  failed: number;
  running: number;
  /** USD so far. */
  cost: number;
}

/** `GET /v1/costs/report` in camelCase. */
export interface CostReport {
  from: string;
  to: string;
  groupBy: string;
  totalCost: number;
  totalRequests: number;
  avgCostPerRequest: number;
  /** USD per model name. */
  costByModel: Record<string, number>;
  /** Tasks answered from the result cache (not in totalRequests: no call was made). */
  cacheHits: number;
  /** USD the result cache saved: what the answers it served cost when first made. */
  savedByCache: number;
  groups: Array<{
    key: string;
    cost: number;
    requests: number;
    inputTokens: number;
    outputTokens: number;
    cacheHits: number;
    savedByCache: number;
  }>;
}

/** Figures of one A/B arm, or of all arms together. */
export interface VariantFigures {
  tasks: number;
  succeeded: number;
  failed: number;
  /** failed / (succeeded + failed); null before any ended. */
  failureRate: number | null;
  /** USD. */
  cost: number;
  avgCostPerTask: number;
  /** Model calls, failed ones included. */
  requests: number;
  inputTokens: number;
  outputTokens: number;
  /** Whole-call latency of the successful calls, ms. */
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
}

/** `GET /v1/costs/report?group_by=variant` in camelCase: totals, and one group per (task type, variant). */
export interface VariantReport extends VariantFigures {
  from: string;
  to: string;
  groups: Array<VariantFigures & { key: string; taskType: string | null }>;
}

/** `GET /v1/costs/analysis` in camelCase: the seed's CostAnalyzer report. */
export interface CostAnalysis {
  from: string;
  to: string;
  /** The model every request is priced at for potentialCost (the seed's "all GPT-4"). */
  baselineModel: string;
  totalCost: number;
  potentialCost: number;
  savings: number;
  savingsPercent: number;
  totalRequests: number;
  failedRequests: number;
  /** Tasks answered from the result cache instead of a model call. */
  cacheHits: number;
  /** USD the result cache saved (not part of `savings`, which is routing's). */
  savedByCache: number;
  /** The seed's split: percent of requests on Claude, on OpenAI's premium tier (its GPT-4), on its small tier (GPT-3.5). */
  claudePercent: number;
  gpt4Percent: number;
  gpt35Percent: number;
  /** Percent of requests per provider family: claude, gpt, gemini, local. */
  distributionByFamily: Record<'claude' | 'gpt' | 'gemini' | 'local', number>;
  /** Percent of requests per model. */
  distributionByModel: Record<string, number>;
  /** 0–100 (100 with no requests: nothing was spent that routing could have saved). */
  optimizationScore: number;
}

/**
 * `GET/PUT /v1/budget` in camelCase (USD; null = no limit): with a client key, that key's own budget (`scope: 'key'`);
 * with the admin key, the global one (`scope: 'global'`).
 */
export interface Budget {
  scope: 'key' | 'global';
  day: string;
  limit: number | null;
  spent: number;
  reserved: number;
  remaining: number | null;
  /** Global budget only. */
  alertThreshold?: number | null;
  /** Key budget only: the admin's cap for this key and the key's own limit. */
  adminLimit?: number | null;
  ownLimit?: number | null;
}

/** `GET /healthz`: `ok` when the API reaches both; otherwise the one that is down says why (`down: …`). */
export interface Health {
  ok: boolean;
  /** `ok` or `down: <reason>`. */
  redis: string;
  /** `ok` or `down: <reason>`. */
  postgres: string;
}

/** What `Orchestrator.stream` yields: text as the model writes it, a failed attempt, and finally the task. */
export type StreamEvent =
  /** Text of the answer, in order (from attempt `attempt` of `model`). */
  | { type: 'delta'; text: string; attempt: number; model: string }
  /**
   * An attempt failed. `afterOutput`: some of its text was already yielded — the task goes on through its fallback,
   * so text yielded so far may not be the final answer (the `end` event's task has it).
   */
  | { type: 'attempt-failed'; attempt: number; model: string; afterOutput: boolean; errorKind: string }
  /** The task ended: its record (status, content, cost, attempts). */
  | { type: 'end'; task: TaskInfo };
