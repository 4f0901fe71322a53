import { microsToUsd } from '@orchex/core';
import type { BatchSummary } from '@orchex/db';

/** A batch's lifecycle as the API shows it. */
export type BatchStatus = 'running' | 'completed' | 'cancelled';

/**
 * The API's JSON for a batch. `cancelled` once cancel was asked (tasks that were running may still finish;
 * `finished_at` is set when every task is terminal); `completed` when every task is terminal; else `running`.
 */
export function batchView(b: BatchSummary) {
  const status: BatchStatus = b.cancelledAt ? 'cancelled' : b.finishedAt ? 'completed' : 'running';
  return {
    id: b.id,
    name: b.name,
    size: b.size,
    status,
    counts: b.counts,
    cost: microsToUsd(b.costMicros),
    created_at: b.createdAt,
    started_at: b.startedAt,
    finished_at: b.finishedAt,
  };
}
