import type { RedisClient } from './limits/lua-command.ts';

/** What a task's stream carries, in order. */
export type TaskStreamEvent =
  /** Text the model has written so far, from one attempt (numbered as the attempt rows are). */
  | { type: 'delta'; attempt: number; model: string; text: string }
  /** That attempt failed; `afterOutput`: some of its text was already in the stream. The task goes on (or ends). */
  | { type: 'attempt-failed'; attempt: number; model: string; afterOutput: boolean; errorKind: string }
  /** The task ended; read its record for the result, usage and cost. */
  | { type: 'end'; status: 'succeeded' | 'failed' | 'cancelled' };

/** One event with its stream id (a Redis stream id: resumable with Last-Event-ID). */
export interface TaskStreamEntry {
  id: string;
  event: TaskStreamEvent;
}

/** Most entries kept per task; an answer needs far fewer (deltas are sentences, not characters). */
const MAX_ENTRIES = 20_000;
/** How long a stream stays readable after its task ended. */
const KEEP_AFTER_END_S = 3600;

/**
 * The per-task Redis Stream the worker writes an answer into as it arrives and the API relays (SSE). Only tasks
 * submitted with `stream: true` have one; the durable result is written through the usual path all the same.
 * Keys carry the task id as hash tag: one slot per stream.
 */
export class TaskStreams {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  key(taskId: string): string {
    return `${this.prefix}:stream:{${taskId}}`;
  }

  /** Appends an event (bounded length); an `end` also starts the stream's expiry. */
  async append(taskId: string, event: TaskStreamEvent): Promise<void> {
    const key = this.key(taskId);
    const add = this.redis.multi().xadd(key, 'MAXLEN', '~', MAX_ENTRIES, '*', 'e', JSON.stringify(event));
    if (event.type === 'end') add.expire(key, KEEP_AFTER_END_S);
    await add.exec();
  }

  /**
   * Entries after `afterId` ('0' = from the start), waiting up to `blockMs` for new ones. `reader` must be a
   * connection of its own: a blocking read holds it.
   */
  async read(reader: RedisClient, taskId: string, afterId: string, blockMs: number): Promise<TaskStreamEntry[]> {
    const res = (await reader.xread('COUNT', 500, 'BLOCK', blockMs, 'STREAMS', this.key(taskId), afterId)) as Array<
      [string, Array<[string, string[]]>]
    > | null;
    const entries = res?.[0]?.[1] ?? [];
    return entries.map(([id, fields]) => ({ id, event: JSON.parse(fields[1] ?? '{}') as TaskStreamEvent }));
  }
}
