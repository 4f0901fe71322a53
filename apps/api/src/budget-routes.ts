import { microsToUsd, type OrchexConfig, usdToMicros, zodIssues } from '@orchex/core';
import type { BudgetState, KeyBudgets } from '@orchex/queue';
import { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import type { KeyId } from './auth.ts';
import { HttpError, validationError } from './http-errors.ts';

/** PUT /v1/budget and PUT /v1/budget/keys/:keyId body. */
export const putBody = z
  .object({
    /** USD per UTC day; null removes the limit. */
    max_daily_cost: z
      .number()
      .nonnegative('must be ≥ 0, or null for no limit')
      .max(1_000_000, 'at most 1000000')
      .nullable(),
  })
  .strict();
/** :keyId of PUT /v1/budget/keys/:keyId. */
export const keyIdParam = z.string().regex(/^[0-9a-f]{32}$/, 'must be a key_id from GET /v1/budget/keys');

const usd = (m: number | null) => (m === null ? null : microsToUsd(m));
const money = (s: BudgetState) => ({
  day: s.day,
  limit: usd(s.limitMicros),
  spent: microsToUsd(s.spentMicros),
  reserved: microsToUsd(s.reservedMicros),
  remaining: usd(s.remainingMicros),
});

/**
 * The seed's set_budget at runtime, for every process. The admin key reads and sets the global daily budget and caps
 * each API key's; any key reads its own budget — only its own spend — and sets its own limit, up to the admin's cap.
 */
export function budgetRoutes(budgets: KeyBudgets, config: OrchexConfig, apiKeys: string[], keyId: KeyId): Router {
  const router = Router();
  const keyView = async (id: string) => {
    const [state, limits] = await Promise.all([budgets.state(id), budgets.limits(id)]);
    return {
      scope: 'key' as const,
      key_id: id,
      ...money(state),
      admin_limit: usd(limits.admin),
      own_limit: usd(limits.own),
    };
  };
  const globalView = async () => {
    const s = await budgets.global.state();
    return {
      scope: 'global' as const,
      ...money(s),
      alert_threshold: config.cost_limits.alert_threshold ?? null,
      alert_triggered: s.alerted,
    };
  };
  const parse = (req: Request) => {
    const body = putBody.safeParse(req.body ?? {});
    if (!body.success) throw validationError(zodIssues(body.error));
    const limit = body.data.max_daily_cost;
    return limit === null ? null : usdToMicros(limit);
  };

  router.get('/budget', async (_req: Request, res: Response) => {
    res.json(res.locals.isAdmin ? await globalView() : await keyView(res.locals.apiKeyId));
  });

  router.put('/budget', async (req: Request, res: Response) => {
    const limit = parse(req);
    if (res.locals.isAdmin) {
      await budgets.global.setLimit(limit);
      res.json(await globalView());
      return;
    }
    // A key may lower its own budget (or lift its own limit again), never above what the admin allows it.
    const id = res.locals.apiKeyId;
    const { admin } = await budgets.limits(id);
    if (admin !== null && (limit === null || limit > admin)) {
      throw new HttpError(
        403,
        'forbidden',
        `this key's daily budget is capped at $${microsToUsd(admin)} by the admin; only a lower limit can be set`,
      );
    }
    await budgets.setLimits(id, { own: limit });
    res.json(await keyView(id));
  });

  // Admin only: every configured key's budget, by key_id (the last four characters of the key say which is which).
  router.get('/budget/keys', async (_req: Request, res: Response) => {
    if (!res.locals.isAdmin) throw new HttpError(403, 'forbidden', 'listing keys needs the admin key');
    const keys = await Promise.all(
      apiKeys.map(async (k) => ({ ...(await keyView(keyId(k))), key_hint: `…${k.slice(-4)}` })),
    );
    res.json({ keys });
  });

  router.put('/budget/keys/:keyId', async (req: Request, res: Response) => {
    if (!res.locals.isAdmin) throw new HttpError(403, 'forbidden', "capping a key's budget needs the admin key");
    const id = keyIdParam.safeParse(req.params.keyId);
    if (!id.success) throw validationError([{ field: 'keyId', message: id.error.issues[0]?.message ?? '' }]);
    await budgets.setLimits(id.data, { admin: parse(req) });
    res.json(await keyView(id.data));
  });
  return router;
}
