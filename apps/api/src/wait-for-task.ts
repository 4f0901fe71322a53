import { isTerminal } from '@orchex/core';
import { type Db, findTask, findTaskStatus, type TaskSummaryWithAttempts } from '@orchex/db';
import type { Response } from 'express';
import type { TaskWaiter } from './task-waiter.ts';

/**
 * A task with its attempts once it has ended, or as it is at `deadline` (ms since the epoch; Infinity: until it ends).
 * Resolves null when there is no such task (for `owner`, when given), and 'gone' when the client disconnected first
 * (`res` closed before anything was written: a request's own 'close' comes when its body has been read, so a POST's
 * would come at once).
 *
 * It wakes on the worker's announcement, or re-reads Postgres every 2 s in case an announcement was lost; the waiter
 * is registered BEFORE each read, so an announcement between the read and the wait is not missed. Before the first
 * wait only the status is read (a task just submitted has rarely ended); after a wake the whole task, which has then
 * usually ended, so the answer costs one round trip after the announcement.
 */
export async function waitForTask(
  db: Db,
  waiter: TaskWaiter,
  res: Response,
  id: string,
  owner: string | undefined,
  deadline: number,
): Promise<TaskSummaryWithAttempts | null | 'gone'> {
  if (deadline <= Date.now()) return findTask(db, id, owner);
  const listen = () => waiter.wait(id, Math.min(2000, deadline - Date.now()));
  let w: ReturnType<typeof listen> | undefined = listen();
  const status = await findTaskStatus(db, id, owner);
  if (status === null) {
    w.cancel();
    return null;
  }
  let task: TaskSummaryWithAttempts | null | undefined;
  // One listener for the whole wait (not one per 2 s round): resolves when the client goes away.
  let closed: Promise<'gone'> | undefined;
  let ended = isTerminal(status);
  while (!ended && Date.now() < deadline) {
    w ??= listen();
    closed ??= new Promise((r) => res.once('close', () => r('gone')));
    const woken = await Promise.race([w.done, closed]);
    w.cancel();
    w = undefined;
    if (woken === 'gone') return 'gone';
    task = await findTask(db, id, owner);
    if (!task) return null;
    ended = isTerminal(task.status);
  }
  w?.cancel();
  return task ?? findTask(db, id, owner);
}
