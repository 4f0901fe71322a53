import { microsToUsd, type OrchexConfig, usdToMicros, zodIssues } from '@orchex/core';
import type { BudgetLedger } from '@orchex/queue';
import { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import { HttpError, validationError } from './http-errors.ts';

const putBody = z
  .object({
    /** USD per UTC day; null removes the limit. */
    max_daily_cost: z
      .number()
      .nonnegative('must be ≥ 0, or null for no limit')
      .max(1_000_000, 'at most 1000000')
      .nullable(),
  })
  .strict();

/** `GET /v1/budget` (any key) and `PUT /v1/budget` (admin key): the seed's set_budget, at runtime, for every process. */
export function budgetRoutes(budget: BudgetLedger, config: OrchexConfig): Router {
  const router = Router();
  const view = async () => {
    const s = await budget.state();
    const usd = (m: number | null) => (m === null ? null : microsToUsd(m));
    return {
      day: s.day,
      limit: usd(s.limitMicros),
      spent: microsToUsd(s.spentMicros),
      reserved: microsToUsd(s.reservedMicros),
      remaining: usd(s.remainingMicros),
      alert_threshold: config.cost_limits.alert_threshold ?? null,
      alert_triggered: s.alerted,
    };
  };
  router.get('/budget', async (_req: Request, res: Response) => {
    res.json(await view());
  });
  router.put('/budget', async (req: Request, res: Response) => {
    if (!res.locals.isAdmin) throw new HttpError(403, 'forbidden', 'changing the budget needs the admin key');
    const body = putBody.safeParse(req.body ?? {});
    if (!body.success) throw validationError(zodIssues(body.error));
    const limit = body.data.max_daily_cost;
    await budget.setLimit(limit === null ? null : usdToMicros(limit));
    res.json(await view());
  });
  return router;
}
