import type { OrchexConfig } from '@orchex/core';
import type { KeyBudgets, ModelLimitState, ModelLimitStates, ModelQueues } from '@orchex/queue';
import type { NextFunction, Request, Response } from 'express';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** What the API's metrics read at scrape time. */
export interface ApiMetricsDeps {
  config: OrchexConfig;
  queues: ModelQueues;
  limitStates: ModelLimitStates;
  budget: KeyBudgets;
  /** A registry to add the API's metrics to (one process running API and workers shares one). Default: its own. */
  metricsRegistry?: Registry | undefined;
}

/** The API's registry and the middleware that counts its requests. */
export interface ApiMetrics {
  registry: Registry;
  /** Counts each request by method, matched route pattern and status, and times it. */
  observe: (req: Request, res: Response, next: NextFunction) => void;
  /** The text exposition, with the shared values read from Redis afresh (once per source) for this scrape. */
  scrape(): Promise<string>;
}

/** Job states shown per queue (BullMQ's own names). */
const JOB_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'waiting-children', 'failed', 'completed'] as const;

/**
 * The API's Prometheus metrics. Besides its own requests it exports what is shared by every process and lives in
 * Redis — each queue's job counts, each model's live limit state, today's budget — read when scraped, so they are
 * exported once (here) rather than once per worker, where summing them would multiply them.
 */
export function createApiMetrics(deps: ApiMetricsDeps): ApiMetrics {
  const registry = deps.metricsRegistry ?? new Registry();
  if (!deps.metricsRegistry) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const models = Object.keys(deps.config.models);

  const requests = new Counter({
    name: 'orchex_http_requests_total',
    help: 'HTTP requests answered by the API, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'orchex_http_request_duration_seconds',
    help: 'Time to answer HTTP requests (a waiting GET /v1/tasks/:id?wait=N included).',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const collectErrors = new Counter({
    name: 'orchex_metrics_collect_errors_total',
    help: 'Scrapes where a shared value (queues, limits, budget) could not be read from Redis.',
    labelNames: ['source'] as const,
    registers,
  });

  // One read of Redis per scrape, shared by the gauges that show it (prom-client collects gauges in parallel).
  const limits = perScrape(() => deps.limitStates.all());
  const gaugeOf = (name: string, help: string, pick: (s: ModelLimitState) => number | null) =>
    new Gauge({
      name,
      help,
      labelNames: ['model'] as const,
      registers,
      async collect() {
        this.reset();
        const states = await limits().catch(() => {
          collectErrors.inc({ source: 'limits' });
          return [];
        });
        for (const s of states) {
          const v = pick(s);
          if (v !== null) this.set({ model: s.model }, v);
        }
      },
    });
  gaugeOf('orchex_model_slots_in_use', 'Calls in flight per model (live limiter leases).', (s) => s.slotsInUse);
  gaugeOf('orchex_model_max_concurrency', 'max_concurrency per model.', (s) => s.maxConcurrency);
  gaugeOf(
    'orchex_model_window_requests',
    'Requests started in the sliding rpm window per model.',
    (s) => s.requestsInWindow,
  );
  gaugeOf('orchex_model_rpm_limit', 'rpm per model.', (s) => s.rpm);
  gaugeOf('orchex_model_window_tokens', 'Tokens in the sliding tpm window per model.', (s) => s.tokensInWindow);
  gaugeOf('orchex_model_tpm_limit', 'tpm per model (absent when the model has none).', (s) => s.tpm);
  gaugeOf(
    'orchex_model_paused_until_timestamp_seconds',
    "When the model's queue pause (a 429 or full limits) ends, Unix seconds; 0 when not paused.",
    (s) => (s.pausedUntilMs === null ? 0 : s.pausedUntilMs / 1000),
  );
  gaugeOf('orchex_model_limited', '1 while the model is paused or a limit is full.', (s) => (s.limited ? 1 : 0));

  new Gauge({
    name: 'orchex_queue_jobs',
    help: "Jobs in each model's queue by state.",
    labelNames: ['model', 'state'] as const,
    registers,
    async collect() {
      this.reset();
      try {
        const counts = await Promise.all(models.map((m) => deps.queues.get(m).getJobCounts(...JOB_STATES)));
        models.forEach((model, i) => {
          for (const state of JOB_STATES) this.set({ model, state }, counts[i]?.[state] ?? 0);
        });
      } catch {
        collectErrors.inc({ source: 'queues' });
      }
    },
  });

  const budget = perScrape(() => deps.budget.global.state());
  const budgetGauge = (name: string, help: string, pick: (s: Awaited<ReturnType<typeof budget>>) => number | null) =>
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        this.reset();
        const s = await budget().catch(() => {
          collectErrors.inc({ source: 'budget' });
          return null;
        });
        const v = s && pick(s);
        if (v !== null && v !== undefined) this.set(v / 1e6);
      },
    });
  budgetGauge('orchex_budget_limit_usd', "Today's global daily budget (absent when unlimited).", (s) => s.limitMicros);
  budgetGauge('orchex_budget_spent_usd', 'Spent today (UTC) against the global budget.', (s) => s.spentMicros);
  budgetGauge('orchex_budget_reserved_usd', 'Held right now by calls in flight.', (s) => s.reservedMicros);

  const observe = (req: Request, res: Response, next: NextFunction) => {
    const end = duration.startTimer();
    res.once('finish', () => {
      // The matched pattern (e.g. /v1/tasks/:id), never the raw path: ids would make the label unbounded.
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      requests.inc({ method: req.method, route, status: String(res.statusCode) });
      end({ method: req.method, route });
    });
    next();
  };
  // Scrapes run one at a time, so concurrent scrapers never see each other's half-collected sources.
  let queue: Promise<unknown> = Promise.resolve();
  const scrape = () => {
    const run = queue.then(() => {
      limits.reset();
      budget.reset();
      return registry.metrics();
    });
    queue = run.catch(() => {});
    return run;
  };
  return { registry, observe, scrape };
}

/**
 * Memoizes `fn` within one scrape (its gauges are collected together, in parallel), so each scrape reads Redis once
 * per source; `reset` starts the next scrape afresh.
 */
function perScrape<T>(fn: () => Promise<T>): { (): Promise<T>; reset(): void } {
  let value: Promise<T> | undefined;
  const get = () => {
    value ??= fn();
    return value;
  };
  return Object.assign(get, {
    reset: () => {
      value = undefined;
    },
  });
}
