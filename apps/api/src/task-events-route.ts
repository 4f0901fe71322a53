import { type Db, findTask } from '@orchex/db';
import type { RedisClient, TaskStreams } from '@orchex/queue';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { HttpError, validationError } from './http-errors.ts';
import { followTask } from './stream-reader.ts';
import { taskView } from './task-view.ts';

const idParam = z.uuid();
/** A Redis stream id, as sent in each event's `id:` line. */
const streamId = z.string().regex(/^\d{1,20}-\d{1,20}$/, 'must be an event id from this stream');

/**
 * `GET /v1/tasks/:id/events`: Server-Sent Events of a task — `status` first, then `delta` (the answer as it is
 * written, for tasks submitted with `stream: true`) and `attempt-failed` as they happen, then `end` with the task's
 * record. Each stream event has an id: a client that reconnects with `Last-Event-ID` resumes after it.
 */
export function taskEventsRoute(deps: { db: Db; redis: RedisClient; streams: TaskStreams }) {
  return async (req: Request, res: Response) => {
    const id = idParam.safeParse(req.params.id);
    if (!id.success) throw validationError([{ field: 'id', message: 'must be a task id (UUID)' }]);
    const resume = req.get('last-event-id');
    const after = resume === undefined ? undefined : streamId.safeParse(resume);
    if (after && !after.success)
      throw validationError([{ field: 'Last-Event-ID', message: after.error.issues[0]?.message ?? '' }]);
    const owner = res.locals.isAdmin ? undefined : res.locals.apiKeyId;
    const task = await findTask(deps.db, id.data, owner);
    if (!task) throw new HttpError(404, 'not_found', `task ${id.data} not found`);

    res.status(200).set({ 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.flushHeaders();
    const send = (event: string, data: unknown, eventId?: string) =>
      res.write(`${eventId ? `id: ${eventId}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    send('status', { status: task.status, model: task.model, current_step: task.currentStep });
    let gone = false;
    req.once('close', () => {
      gone = true;
    });
    const items = followTask(deps.redis, deps.streams, deps.db, task.id, {
      afterId: after?.success ? after.data : '0',
      owner,
      gone: () => gone,
    });
    for await (const item of items) {
      if (item.kind === 'ended') {
        send('end', taskView(item.task));
        break;
      }
      const { id: eventId, event } = item.entry;
      if (event.type === 'delta')
        send('delta', { attempt: event.attempt, model: event.model, text: event.text }, eventId);
      else if (event.type === 'attempt-failed') {
        const { attempt, model, afterOutput, errorKind } = event;
        send('attempt-failed', { attempt, model, after_output: afterOutput, error_kind: errorKind }, eventId);
      }
    }
    res.end();
  };
}
