/** Redis keys of one UTC day's budget. */
export interface BudgetKeys {
  /** STRING: micro-dollars settled today (rebuilt from Postgres when missing). */
  spent: string;
  /** STRING: micro-dollars held by live reservations. */
  reserved: string;
  /** HASH reservationId → micro-dollars reserved. */
  amounts: string;
  /** ZSET reservationId → expiry (ms, Redis clock): a dead worker's reservation frees then. */
  expiry: string;
  /**
   * ZSET reservationId → until when (ms, Redis clock) its settlement is remembered: an hour past its hold's expiry, so
   * a repeated settle (or reserve) of the same id does not count twice, and the set holds the last hour's ids, not
   * the whole day's. (Until 2026-12-03 a SET of the day's ids named `settled`; those expire with their day.)
   */
  settled: string;
  /** STRING flag: today's alert already fired. */
  alerted: string;
}

/** Keys of one day, all under the hash tag `{day}` so each script touches one slot (Redis Cluster). */
export function budgetKeys(prefix: string, day: string): BudgetKeys {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new RangeError(`day must be YYYY-MM-DD, got "${day}"`);
  const base = `${prefix}:budget:{${day}}`;
  return {
    spent: `${base}:spent`,
    reserved: `${base}:reserved`,
    amounts: `${base}:amounts`,
    expiry: `${base}:expiry`,
    settled: `${base}:settled-until`,
    alerted: `${base}:alerted`,
  };
}

/** The runtime daily limit (`PUT /v1/budget`), shared by every process: micro-dollars, or `none`. */
export function budgetLimitKey(prefix: string): string {
  return `${prefix}:budget:limit`;
}
