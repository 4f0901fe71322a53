import { once } from 'node:events';
import { isTerminal } from '@orchex/core';
import { type Db, findTask, type TaskSummaryWithAttempts } from '@orchex/db';
import type { RedisClient, TaskStreamEntry, TaskStreams } from '@orchex/queue';

/** What a relay sees: the stream's entries as they come, then the task's final record. */
export type RelayItem = { kind: 'entry'; entry: TaskStreamEntry } | { kind: 'ended'; task: TaskSummaryWithAttempts };

/**
 * Follows a task: its stream's entries after `afterId` as they are written, then its record once it has ended. The
 * record is also checked while the stream is quiet, so a task that writes no stream (not submitted with
 * `stream: true`, or whose `end` entry was lost) still ends the relay. Stops when `gone()` says the client left.
 * Uses a Redis connection of its own (a blocking read holds it), closed at the end.
 */
export async function* followTask(
  redis: RedisClient,
  streams: TaskStreams,
  db: Db,
  taskId: string,
  opts: { afterId: string; owner: string | undefined; gone: () => boolean },
): AsyncGenerator<RelayItem> {
  const reader = redis.duplicate();
  reader.on('error', () => {});
  try {
    if (reader.status !== 'ready') await once(reader, 'ready');
    let afterId = opts.afterId;
    let quietSince = Date.now();
    while (!opts.gone()) {
      const entries = await streams.read(reader, taskId, afterId, 1000);
      for (const entry of entries) {
        afterId = entry.id;
        yield { kind: 'entry', entry };
        if (entry.event.type === 'end') {
          const task = await findTask(db, taskId, opts.owner);
          if (task) yield { kind: 'ended', task };
          return;
        }
      }
      if (entries.length) quietSince = Date.now();
      else if (Date.now() - quietSince >= 2000) {
        quietSince = Date.now();
        const task = await findTask(db, taskId, opts.owner);
        if (task && isTerminal(task.status)) {
          // Whatever the stream got before the task ended is delivered first.
          for (const entry of await streams.read(reader, taskId, afterId, 1)) {
            afterId = entry.id;
            if (entry.event.type !== 'end') yield { kind: 'entry', entry };
          }
          yield { kind: 'ended', task };
          return;
        }
      }
    }
  } finally {
    reader.disconnect();
  }
}
