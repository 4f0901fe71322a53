import type { NewAttempt, StepResult } from '@orchex/db';
import type { RedisClient } from '../limits/lua-command.ts';
import { modelSlotKey } from '../queue-name.ts';

/** An attempt that was made (and paid for) but could not be written to Postgres yet; with its answer, if it had one. */
export interface PendingAttempt {
  row: NewAttempt;
  result?: StepResult;
}

/** Kept until written; a week outlasts any outage worth surviving. */
const KEEP_MS = 7 * 24 * 3600 * 1000;

/**
 * Attempts waiting for Postgres, per task step, in Redis next to the step's job (the model's hash tag, so one slot).
 * This is the one place user text enters Redis — an answer, for as long as Postgres is unreachable — because the
 * alternative is paying the provider again for the same answer. Written only when a write to Postgres fails.
 */
export class PendingAttempts {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private key(model: string, taskId: string, step: number): string {
    return modelSlotKey(this.prefix, model, 'pending', taskId, step);
  }

  /** Keeps an attempt (AOF-persisted like the jobs) until `take` finds it. */
  async keep(model: string, item: PendingAttempt): Promise<void> {
    const key = this.key(model, item.row.taskId, item.row.step);
    await this.redis.multi().rpush(key, JSON.stringify(item)).pexpire(key, KEEP_MS).exec();
  }

  /** The attempts kept for this step, oldest first (empty when none). */
  async list(model: string, taskId: string, step: number): Promise<PendingAttempt[]> {
    const items = await this.redis.lrange(this.key(model, taskId, step), 0, -1);
    return items.map((s) => {
      const item = JSON.parse(s) as PendingAttempt;
      return { ...item, row: { ...item.row, startedAt: new Date(item.row.startedAt) } };
    });
  }

  /** Forgets this step's kept attempts once they are written. */
  async clear(model: string, taskId: string, step: number): Promise<void> {
    await this.redis.del(this.key(model, taskId, step));
  }

  /** The highest attempt number kept for a step (0 when none): the sweep numbers a re-added job above it. */
  async maxAttempt(model: string, taskId: string, step: number): Promise<number> {
    const items = await this.list(model, taskId, step);
    return items.reduce((m, i) => Math.max(m, i.row.attempt), 0);
  }
}
