export { type BudgetAlert, sendBudgetAlert } from './budget-alert.ts';
export { budgetFromConfig, DAILY_LIMIT_SETTING, keyBudgetsFromConfig } from './budget-from-config.ts';
export { type BudgetKeys, budgetKeys, budgetLimitKey } from './budget-keys.ts';
export {
  BudgetLedger,
  type BudgetLedgerOptions,
  type BudgetState,
  type DayOption,
  type ReserveInput,
  type ReserveResult,
  type SettleResult,
} from './budget-ledger.ts';
export {
  effectiveLimit,
  type HoldInput,
  KeyBudgets,
  type KeyedReserveResult,
  type KeyedSettleResult,
  type KeyLimits,
} from './key-budgets.ts';
