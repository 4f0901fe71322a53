import type { RedisClient } from './limits/lua-command.ts';

/** Pub/sub channel on which workers announce that a task reached a terminal state (payload: task id). */
export function taskFinishedChannel(prefix: string): string {
  return `${prefix}:events:task-finished`;
}

/** Best effort: waiters also poll Postgres, so a lost message only delays a response, never loses a result. */
export async function publishTaskFinished(redis: RedisClient, prefix: string, taskId: string): Promise<void> {
  try {
    await redis.publish(taskFinishedChannel(prefix), taskId);
  } catch {
    // ignored on purpose: see above
  }
}
