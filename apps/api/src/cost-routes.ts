import {
  analyzeCosts,
  defaultBaselineModel,
  type FieldIssue,
  microsToUsd,
  type OrchexConfig,
  resolveModelName,
  safeString,
  zodIssues,
} from '@orchex/core';
import {
  COST_GROUP_BYS,
  type CostRange,
  costByModel,
  costReport,
  type Db,
  type VariantSums,
  variantReport,
} from '@orchex/db';
import { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import { validationError } from './http-errors.ts';

/** What the cost routes need. */
export interface CostRouteDeps {
  config: OrchexConfig;
  db: Db;
}

/** Days in the default range (today and the 29 before it). */
export const DEFAULT_REPORT_DAYS = 30;

const DAY_MS = 86_400_000;
const utcDay = (d: Date) => d.toISOString().slice(0, 10);

// Rollups are per UTC day, so a date-time narrows to its UTC date; a date must exist (no 2025-02-30).
const isoDay = z.string().transform((s, ctx) => {
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(s);
  const dateTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(s);
  const d = new Date(dateOnly ? `${s}T00:00:00Z` : s);
  if ((!dateOnly && !dateTime) || Number.isNaN(d.getTime()) || (dateOnly && utcDay(d) !== s)) {
    ctx.addIssue({ code: 'custom', message: 'must be an ISO date (YYYY-MM-DD) or date-time with offset' });
    return z.NEVER;
  }
  return utcDay(d);
});

/** `from=all`: since the first recorded day. */
const FROM_ALL = '1970-01-01';
const rangeShape = {
  from: z.union([z.literal('all').transform(() => FROM_ALL), isoDay]).optional(),
  to: isoDay.optional(),
};
/** GET /v1/costs/report query. */
export const reportQuery = z
  .object({ ...rangeShape, group_by: z.enum([...COST_GROUP_BYS, 'variant']).default('model') })
  .strict();
/** GET /v1/costs/analysis query. */
export const analysisQuery = z
  .object({ ...rangeShape, baseline: safeString(z.string().min(1).max(200)).optional() })
  .strict();

/** zodIssues, with each unknown query parameter named as its own field (zod reports them all at the root). */
function queryIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((k) => ({ field: k, message: 'unknown query parameter' }))
      : zodIssues(new z.ZodError([issue])),
  );
}

/** Fills the default range (the last DEFAULT_REPORT_DAYS UTC days) and rejects a range that ends before it starts. */
function resolveRange(q: { from?: string | undefined; to?: string | undefined }, res: Response): CostRange {
  const to = q.to ?? utcDay(new Date());
  const from = q.from ?? utcDay(new Date(Date.parse(`${to}T00:00:00Z`) - (DEFAULT_REPORT_DAYS - 1) * DAY_MS));
  if (from > to) throw validationError([{ field: 'to', message: `must not be before from (${from})` }]);
  return { from, to, apiKeyId: res.locals.isAdmin ? undefined : res.locals.apiKeyId };
}

/** One arm of an A/B test (or all of them) in the report: over the tasks submitted in the range with a variant. */
function variantView(v: VariantSums) {
  const ended = v.succeeded + v.failed;
  return {
    tasks: v.tasks,
    succeeded: v.succeeded,
    failed: v.failed,
    failure_rate: ended > 0 ? Math.round((v.failed / ended) * 10_000) / 10_000 : null,
    cost: microsToUsd(v.costMicros),
    avg_cost_per_task: v.tasks > 0 ? microsToUsd(Math.round(v.costMicros / v.tasks)) : 0,
    requests: v.requests,
    input_tokens: v.inputTokens,
    output_tokens: v.outputTokens,
    latency_p50_ms: v.latencyP50Ms,
    latency_p95_ms: v.latencyP95Ms,
  };
}

/**
 * `GET /costs/report` and `GET /costs/analysis`, read from the cost_rollups table and scoped to the caller's key
 * (the admin key sees every key's costs).
 */
export function costRoutes(deps: CostRouteDeps): Router {
  const { config, db } = deps;
  const router = Router();

  router.get('/costs/report', async (req: Request, res: Response) => {
    const q = reportQuery.safeParse(req.query);
    if (!q.success) throw validationError(queryIssues(q.error));
    const range = resolveRange(q.data, res);
    const groupBy = q.data.group_by;
    if (groupBy === 'variant') {
      const { total, groups } = await variantReport(db, range);
      res.set('Cache-Control', 'no-store').json({
        from: range.from,
        to: range.to,
        group_by: groupBy,
        ...variantView(total),
        groups: groups.map((g) => ({ key: g.variant, task_type: g.taskType, ...variantView(g) })),
      });
      return;
    }
    const data = await costReport(db, { ...range, groupBy });
    const { requests, costMicros } = data.total;
    res.set('Cache-Control', 'no-store').json({
      from: range.from,
      to: range.to,
      group_by: q.data.group_by,
      total_cost: microsToUsd(costMicros),
      total_requests: requests,
      avg_cost_per_request: requests > 0 ? microsToUsd(Math.round(costMicros / requests)) : 0,
      cost_by_model: Object.fromEntries(data.byModel.map((m) => [m.model, microsToUsd(m.costMicros)])),
      // Tasks answered from the result cache (not requests: no call was made) and what their original calls cost.
      cache_hits: data.total.cacheHits,
      saved_by_cache: microsToUsd(data.total.savedMicros),
      groups: data.groups.map((g) => ({
        key: g.key,
        cost: microsToUsd(g.costMicros),
        requests: g.requests,
        input_tokens: g.inputTokens,
        output_tokens: g.outputTokens,
        cache_hits: g.cacheHits,
        saved_by_cache: microsToUsd(g.savedMicros),
      })),
    });
  });

  router.get('/costs/analysis', async (req: Request, res: Response) => {
    const q = analysisQuery.safeParse(req.query);
    if (!q.success) throw validationError(queryIssues(q.error));
    const asked = q.data.baseline ?? defaultBaselineModel(config);
    const baseline = resolveModelName(config, asked);
    if (baseline === undefined) {
      const known = Object.keys(config.models).join(', ');
      throw validationError([{ field: 'baseline', message: `unknown model "${asked}" (known: ${known})` }]);
    }
    const range = resolveRange(q.data, res);
    const rows = await costByModel(db, range);
    res
      .set('Cache-Control', 'no-store')
      .json({ from: range.from, to: range.to, ...analyzeCosts(rows, config, baseline) });
  });

  return router;
}
