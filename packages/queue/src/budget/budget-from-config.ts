import { type OrchexConfig, usdToMicros } from '@orchex/core';
import { type Db, spentOnDay } from '@orchex/db';
import type { RedisClient } from '../limits/index.ts';
import { BudgetLedger } from './budget-ledger.ts';

/**
 * The budget ledger every process shares: config's max_daily_cost until `PUT /v1/budget` sets another limit,
 * alert_threshold for the once-a-day alert, and Postgres's rollup to rebuild a lost Redis counter.
 */
export function budgetFromConfig(redis: RedisClient, config: OrchexConfig, db: Db, prefix: string): BudgetLedger {
  const { max_daily_cost: maxDaily, alert_threshold: alertAt } = config.cost_limits;
  return new BudgetLedger(redis, {
    prefix,
    defaultLimitMicros: maxDaily === undefined ? null : usdToMicros(maxDaily),
    ...(alertAt === undefined ? {} : { alertMicros: usdToMicros(alertAt) }),
    loadSpent: (day) => spentOnDay(db, day),
  });
}
