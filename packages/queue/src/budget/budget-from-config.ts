import { type OrchexConfig, usdToMicros } from '@orchex/core';
import { type Db, deleteSetting, getSetting, putSetting, spentOnDay } from '@orchex/db';
import type { RedisClient, ReplicaAcks } from '../limits/lua-command.ts';
import { BudgetLedger } from './budget-ledger.ts';
import { KeyBudgets } from './key-budgets.ts';

/** The settings row holding the runtime daily limit: `{ micros }`, micro-dollars or `null` for no limit. */
export const DAILY_LIMIT_SETTING = 'budget.daily_limit_micros';

/**
 * The budget ledger every process shares: config's max_daily_cost until `PUT /v1/budget` sets another limit,
 * alert_threshold for the once-a-day alert, and Postgres — the rollup and the settings table — to rebuild a lost
 * Redis counter or limit.
 */
export function budgetFromConfig(
  redis: RedisClient,
  config: OrchexConfig,
  db: Db,
  prefix: string,
  replicaAcks?: ReplicaAcks,
): BudgetLedger {
  const { max_daily_cost: maxDaily, alert_threshold: alertAt } = config.cost_limits;
  return new BudgetLedger(redis, {
    prefix,
    ...(replicaAcks ? { replicaAcks } : {}),
    defaultLimitMicros: maxDaily === undefined ? null : usdToMicros(maxDaily),
    ...(alertAt === undefined ? {} : { alertMicros: usdToMicros(alertAt) }),
    loadSpent: (day) => spentOnDay(db, day),
    limitStore: {
      load: async () => (await getSetting<{ micros: number | null }>(db, DAILY_LIMIT_SETTING))?.micros,
      save: (limit) =>
        limit === undefined
          ? deleteSetting(db, DAILY_LIMIT_SETTING)
          : putSetting(db, DAILY_LIMIT_SETTING, { micros: limit }),
    },
  });
}

/** The global budget (budgetFromConfig) with every API key's own budget beside it. */
export function keyBudgetsFromConfig(
  redis: RedisClient,
  config: OrchexConfig,
  db: Db,
  prefix: string,
  replicaAcks?: ReplicaAcks,
): KeyBudgets {
  return new KeyBudgets(budgetFromConfig(redis, config, db, prefix, replicaAcks), redis, db, prefix);
}
