import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import { resultCacheKey } from '../cache/result-cache-key.ts';
import { succeedCached } from './finish-task.ts';
import type { StepRun } from './load-step.ts';
import type { StepDeps } from './step-deps.ts';

/** The fill lock a step holds while it calls the model for a cacheable request; `stored` once the answer is in. */
export interface CacheFill {
  hash: string;
  token: string;
  ttlMs: number;
  stored: boolean;
}

/** What the cache rung decided. */
export type CacheRung =
  /** Not a cached task: climb on as always. */
  | { kind: 'off' }
  /** Answered from the cache: the task has succeeded. */
  | { kind: 'hit' }
  /** An identical request is being answered by another step: run again after `ms` (no retry spent). */
  | { kind: 'wait'; ms: number }
  /** A miss, and this step fills it: call the model, then store the answer (or release the lock). */
  | { kind: 'fill'; fill: CacheFill };

/**
 * The result-cache rung, before any limit or hold: a task that opted in (params.cacheTtlSec, decided at submit) and
 * whose identical request was answered within the TTL ends here, succeeded at $0 with the saving recorded — no budget
 * hold, no limiter slot, no call. On a miss exactly one step claims the key's fill lock and calls; the others wait
 * for its answer (no stampede) and take over the lock if the filler fails or dies.
 */
export async function cacheRung(deps: StepDeps, run: StepRun, job: Job): Promise<CacheRung> {
  const { task } = run;
  const ttlSec = task.params.cacheTtlSec;
  // Parts of a split task are never cached: the task's answer is the reduce's, built from this run's map answers.
  if (ttlSec === undefined || task.partKind !== null) return { kind: 'off' };
  const hash = resultCacheKey({
    model: run.modelName,
    modelId: run.modelConfig.model_id,
    messages: run.messages,
    system: task.system,
    maxTokens: run.maxTokens,
    temperature: task.params.temperature,
    topP: task.params.topP,
    stop: task.params.stop,
    scope: deps.config.cache.shared ? null : task.apiKeyId,
  });
  const serve = async () => {
    const answer = await deps.cache.get(hash);
    if (!answer) return false;
    await succeedCached(deps, run, answer);
    deps.logger.info(
      { taskId: task.id, step: run.step, model: run.modelName, outcome: 'cached', savedMicros: answer.costMicros },
      'attempt',
    );
    return true;
  };
  if (await serve()) return { kind: 'hit' };
  const token = randomUUID();
  // The lease outlives the call (its deadline) and the writes after it; a dead filler's lock lapses after that.
  if (!(await deps.cache.claim(hash, token, run.timeoutMs + 15_000))) {
    return { kind: 'wait', ms: waitMs(job.attemptsStarted) };
  }
  // The previous filler may have stored its answer and let go between our look-up and our claim.
  if (await serve()) {
    await deps.cache.release(hash, token);
    return { kind: 'hit' };
  }
  return { kind: 'fill', fill: { hash, token, ttlMs: ttlSec * 1000, stored: false } };
}

/** A waiter's delay: 100 ms doubling per run of its job, capped at 1 s, with jitter so waiters do not move in step. */
function waitMs(runs: number): number {
  const exp = Math.min(1000, 100 * 2 ** Math.min(4, Math.max(0, runs - 1)));
  return Math.ceil(exp / 2 + Math.random() * (exp / 2));
}
