import { type Logger, safeErrorText } from '@orchex/core';
import { type Db, findInProgressTasks, findSplitTasksToFinish, finishParent, type InProgressTask } from '@orchex/db';
import type { RedisClient } from './limits/lua-command.ts';
import type { ModelQueues } from './model-queues.ts';
import { stepJobId } from './queue-name.ts';
import type { PendingAttempts } from './step/pending-attempts.ts';

/** Job states in which the job will still run: left alone. `active` counts too — see sweepOrphans. */
const LIVE = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children', 'active']);

/** Options of sweepOrphans. */
export interface SweepOptions {
  /** Attempts kept in Redis while Postgres was down, so a re-added job numbers its attempts above them. */
  pending?: PendingAttempts;
  /** Tasks younger than this are left to their submitter (between its insert and its enqueue). Default 10 s. */
  minAgeS?: number;
  /** Tasks looked at per query. Default 500. */
  pageSize?: number;
  /** Most tasks looked at in one run; the next run continues after the last. Default 20,000. */
  maxTasks?: number;
  /** Where the previous run stopped (oldest first); undefined = from the oldest. */
  after?: { createdAt: string; id: string } | undefined;
}

/** What one sweep did, and where the next should continue (undefined: it reached the newest task). */
export interface SweepResult {
  readded: number;
  checked: number;
  next: { createdAt: string; id: string } | undefined;
}

/**
 * Gives every stranded task a fresh job: a task Postgres says is in progress whose current step's job is missing
 * (lost by Redis, or never added: the API died between insert and enqueue), failed (e.g. past BullMQ's retries) or
 * completed without ending the task. The old job is removed first (its id is deterministic), and the new one numbers
 * its attempts after those already made. A live job — waiting, delayed, or active (BullMQ's stall check recovers an
 * active job whose lock was lost, within one lock duration) — is left alone. Every task is looked at whatever its
 * age, oldest first, in pages, so a large backlog cannot hide an orphan. Parts of a split task are re-added on their
 * own (the reduce part waits for its map parts in Postgres), never as a flow, so no re-added job waits on a child
 * that already exists. Split tasks whose parts all ended are finished. Returns what it did.
 */
export async function sweepOrphansOnce(
  db: Db,
  queues: ModelQueues,
  logger: Logger,
  opts: SweepOptions = {},
): Promise<SweepResult> {
  const pageSize = opts.pageSize ?? 500;
  let after = opts.after;
  let checked = 0;
  let readded = 0;
  for (;;) {
    const page = await findInProgressTasks(db, { after, limit: pageSize, minAgeS: opts.minAgeS ?? 10 });
    const added = await Promise.all(page.map((t) => readdIfStranded(queues, t, opts.pending)));
    readded += added.filter(Boolean).length;
    checked += page.length;
    after = page.at(-1) ?? after;
    if (page.length < pageSize) {
      after = undefined;
      break;
    }
    if (checked >= (opts.maxTasks ?? 20_000)) break;
  }
  const finished = await finishEndedSplitTasks(db);
  if (readded || finished) logger.info({ readded, finished, checked }, 'orphan sweep gave stranded tasks new jobs');
  return { readded: readded + finished, checked, next: after && { createdAt: after.createdAt, id: after.id } };
}

/** sweepOrphansOnce from the oldest task, for callers that want the count only. */
export async function sweepOrphans(
  db: Db,
  queues: ModelQueues,
  logger: Logger,
  opts: SweepOptions = {},
): Promise<number> {
  return (await sweepOrphansOnce(db, queues, logger, opts)).readded;
}

async function readdIfStranded(queues: ModelQueues, t: InProgressTask, pending?: PendingAttempts): Promise<boolean> {
  const model = t.plan[t.currentStep];
  if (!model || !Object.hasOwn(queues.config.models, model)) return false;
  const queue = queues.get(model);
  const jobId = stepJobId(t.id, t.currentStep);
  const state = await queue.getJobState(jobId);
  if (LIVE.has(state)) return false;
  // completed, failed or unknown (gone). Keep a finished reduce job's children: map parts may still be running.
  if (state !== 'unknown') await queue.remove(jobId, { removeChildren: false });
  const kept = pending ? await pending.maxAttempt(model, t.id, t.currentStep) : 0;
  await queues.enqueueStep(t.id, t.currentStep, model, undefined, Math.max(t.lastAttempt, kept));
  return true;
}

/** Finishes split tasks whose parts all ended: succeeded with the reduce's answer, or failed with a part's error. */
async function finishEndedSplitTasks(db: Db): Promise<number> {
  let finished = 0;
  for (const { id, reduce, failed } of await findSplitTasksToFinish(db)) {
    const outcome =
      reduce?.status === 'succeeded'
        ? {
            status: 'succeeded' as const,
            model: reduce.model ?? '',
            resultText: reduce.resultText ?? '',
            finishReason: 'stop',
          }
        : {
            status: 'failed' as const,
            error: {
              kind: failed?.error?.kind ?? 'server',
              message: `part ${(failed?.partIndex ?? 0) + 1} failed: ${failed?.error?.message ?? 'no answer'}`,
            },
          };
    if (await finishParent(db, id, outcome)) finished++;
  }
  return finished;
}

/**
 * Runs the sweep every `everyMs` in one worker at a time (a Redis lock), so N workers do not sweep N times; each run
 * continues where the previous one stopped (the cursor is kept in Redis, so it survives the lock moving between
 * workers). Returns a stop function.
 */
export function scheduleOrphanSweep(
  db: Db,
  queues: ModelQueues,
  redis: RedisClient,
  prefix: string,
  logger: Logger,
  opts: {
    everyMs?: number;
    pending?: PendingAttempts;
    /** Told how many tasks each run re-added or finished (the worker's orchex_sweep_readds_total). */
    onReadded?: (count: number) => void;
  } = {},
): () => void {
  const everyMs = opts.everyMs ?? 30_000;
  const lockKey = `${prefix}:sweep-lock`;
  const cursorKey = `${prefix}:sweep-cursor`;
  const timer = setInterval(async () => {
    try {
      if ((await redis.set(lockKey, String(process.pid), 'PX', everyMs, 'NX')) !== 'OK') return;
      const saved = await redis.get(cursorKey);
      const after = saved ? (JSON.parse(saved) as { createdAt: string; id: string }) : undefined;
      const { next, readded } = await sweepOrphansOnce(db, queues, logger, {
        ...(opts.pending ? { pending: opts.pending } : {}),
        after,
      });
      opts.onReadded?.(readded);
      if (next) await redis.set(cursorKey, JSON.stringify(next));
      else await redis.del(cursorKey);
    } catch (err) {
      logger.warn({ err: safeErrorText(err) }, 'orphan sweep failed; will retry');
    }
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
