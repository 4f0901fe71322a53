import {
  findModel,
  type ModelSignals,
  microsToUsd,
  type OrchexConfig,
  type PlannedTask,
  qualityOf,
  worstCaseMicros,
} from '@orchex/core';
import type { BudgetState, KeyBudgets, SignalReader } from '@orchex/queue';
import { type Request, type Response, Router } from 'express';
import { BATCH_BODY_LIMIT } from './batch-routes.ts';
import { bodyLimitBytes, readJsonBody } from './read-json-body.ts';
import type { RequestPlanner } from './request-planner.ts';

/** What POST /v1/estimate needs. */
export interface EstimateRouteDeps {
  config: OrchexConfig;
  planner: RequestPlanner;
  budget: KeyBudgets;
  signals: SignalReader;
  /** Largest body (a batch's). Default {@link BATCH_BODY_LIMIT}. */
  bodyLimit?: string;
}

/**
 * POST /v1/estimate: a task's body (as for POST /v1/tasks) or a batch's (as for POST /v1/batches), planned by the
 * same planner as a submit — validation, routing with the same signals, splitting, refusals — and nothing stored or
 * enqueued. `estimated_cost` is exactly what the submit would store (the worst case of the call it starts with).
 */
export function estimateRoute(deps: EstimateRouteDeps): Router {
  const router = Router();
  const bodyLimit = bodyLimitBytes(deps.bodyLimit ?? BATCH_BODY_LIMIT);
  router.post('/estimate', async (req: Request, res: Response) => {
    const body = deps.planner.open('estimate');
    await readJsonBody(req, bodyLimit, body);
    const { planned } = await body.end();
    const signals = deps.signals.latest();
    const apiKeyId: string = res.locals.apiKeyId;
    const [mine, global] = await Promise.all([deps.budget.state(apiKeyId), deps.budget.global.state()]);
    const tasks = planned.map((p) => taskEstimate(p, deps.config, signals));
    const total = planned.reduce((sum, p) => sum + p.estimateMicros, 0);
    const expected = tasks.reduce((sum, t) => sum + t.expectedMicros, 0);
    const remaining = minOf(mine.remainingMicros, global.remainingMicros);
    res.json({
      tasks: tasks.map((t) => t.view),
      estimated_cost: microsToUsd(total),
      expected_cost: microsToUsd(expected),
      budget: {
        day: global.day,
        // What this key may still spend today: its own limit and the global one, whichever is lower; null = no limit.
        remaining: remaining === null ? null : microsToUsd(remaining),
        limited_by: limitedBy(mine, global),
        fits: remaining === null || total <= remaining,
      },
    });
  });
  return router;
}

/** One planned task as the estimate shows it, and its expected cost. */
function taskEstimate(p: PlannedTask, config: OrchexConfig, signals: ModelSignals) {
  const perModel = (p.calls ?? []).map((c, step) => {
    const model = findModel(config, c.model);
    // Expected: the model's recent median answer length when it has one, else the whole output allowance.
    const typical = signals[c.model]?.outputTokensP50;
    const out = typical === undefined ? c.maxOutputTokens : Math.min(typical, c.maxOutputTokens);
    const expectedMicros = model ? worstCaseMicros(c.inputTokens, out, model) : c.worstCaseMicros;
    return {
      step,
      expectedMicros,
      view: {
        model: c.model,
        quality: model ? qualityOf(model) : null,
        input_tokens: c.inputTokens,
        max_output_tokens: c.maxOutputTokens,
        expected_cost: microsToUsd(expectedMicros),
        worst_case_cost: microsToUsd(c.worstCaseMicros),
        ...(step < p.firstStep ? { skipped: 'over cost_limits.max_per_request' } : {}),
      },
    };
  });
  const start = perModel.find((m) => m.step === p.firstStep);
  const expectedMicros = start?.expectedMicros ?? p.estimateMicros;
  return {
    expectedMicros,
    view: {
      model: p.first,
      plan: p.route.plan,
      task_type: p.route.taskType ?? null,
      strategy: p.route.objective ?? null,
      variant: p.route.variant ?? null,
      routing_reason: p.route.reason,
      ...(p.split ? { parts: p.split.chunks.length + 1 } : {}),
      estimated_cost: microsToUsd(p.estimateMicros),
      expected_cost: microsToUsd(expectedMicros),
      ...(p.split ? {} : { per_model: perModel.map((m) => m.view) }),
    },
  };
}

const minOf = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));

function limitedBy(mine: BudgetState, global: BudgetState): 'key' | 'global' | null {
  if (mine.remainingMicros === null && global.remainingMicros === null) return null;
  if (global.remainingMicros === null) return 'key';
  if (mine.remainingMicros === null) return 'global';
  return mine.remainingMicros <= global.remainingMicros ? 'key' : 'global';
}
