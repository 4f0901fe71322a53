import type { Logger } from '@orchex/core';

/** What the alert webhook receives (JSON POST). */
export interface BudgetAlert {
  event: 'budget.alert_threshold_crossed';
  day: string;
  /** USD */
  spent: number;
  /** USD */
  alert_threshold: number;
  /** USD; null = no daily limit. */
  limit: number | null;
}

/**
 * Called once per UTC day, by whichever worker's settle first crossed cost_limits.alert_threshold (the ledger
 * decides atomically): a warning line, and a POST to ORCHEX_ALERT_WEBHOOK when set. Failures are logged, never thrown.
 */
export async function sendBudgetAlert(
  alert: BudgetAlert,
  logger: Logger,
  webhookUrl: string | undefined,
): Promise<void> {
  logger.warn({ ...alert }, 'daily spend crossed the alert threshold');
  if (!webhookUrl) return;
  try {
    const res = await fetch(webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(alert),
      signal: AbortSignal.timeout(5000),
    });
    if (!res.ok) logger.warn({ status: res.status }, 'alert webhook answered with an error');
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'alert webhook unreachable');
  }
}
