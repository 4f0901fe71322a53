import {
  buildMessages,
  type ChatMessage,
  estimateInputTokens,
  findModel,
  isTerminal,
  type ModelConfig,
  type OrchexConfig,
  outputLimit,
  worstCaseMicros,
} from '@orchex/core';
import type { TaskWithAttempts } from '@orchex/db';
import type { LanguageModel } from '@orchex/providers';
import type { Job } from 'bullmq';
import { type JobPayload, parseJob } from '../job-catalog.ts';
import { failTask } from './finish-task.ts';
import type { Handback } from './hand-back.ts';
import { reduceInput } from './reduce-part.ts';
import type { StepDeps, StepOutcome } from './step-deps.ts';

/** One step about to run: the task, its model, the exact prompt and what the call may use. */
export interface StepRun {
  task: TaskWithAttempts;
  step: number;
  /** Numbers this call's attempt row and budget hold: earlier jobs' attempts + BullMQ's attemptsStarted. */
  attempt: number;
  /** An earlier run of this step may have left answers it could not write (see pending-attempts.ts). */
  mayHavePending: boolean;
  modelName: string;
  modelConfig: ModelConfig;
  model: LanguageModel;
  /** The conversation sent (one user turn for a prompt; a reduce part's holds every map answer). */
  messages: ChatMessage[];
  /** The same estimate as the API's pre-flight check (a real tokenizer for OpenAI models), for budget and tpm. */
  inputTokens: number;
  /** The output this call asks for: the task's max_tokens clamped to the model's max_output_tokens. */
  maxTokens: number;
  /** Input estimate priced with maxTokens of output: what the budget holds. */
  worstCaseMicros: number;
  /** The same worst case on another model of the plan (for skipping to one that fits a limit). */
  worstCaseOn(modelName: string): number | undefined;
  timeoutMs: number;
}

/**
 * Rung 0 of the ladder: the task at this step, unless it ended or moved on since the job was added (delivery is at
 * least once), or the job cannot run here. A reduce part first needs every map part's answer.
 */
export async function loadStep(
  deps: StepDeps,
  queueModel: string,
  job: Job,
): Promise<{ run: StepRun } | { skipped: StepOutcome } | { handBack: Handback }> {
  let payload: JobPayload<'step'>;
  try {
    payload = parseJob('step', job.data);
  } catch (err) {
    // A bad payload is a bug, never retried.
    return { handBack: { kind: 'end', reason: `bad job payload: ${(err as Error).message}` } };
  }
  const { taskId, step } = payload;
  const modelConfig = findModel(deps.config, queueModel);
  const model = deps.models.get(queueModel);
  if (!modelConfig || !model) return { handBack: { kind: 'end', reason: `model ${queueModel} is not configured` } };
  // An earlier run of this job (a re-delivery) or of this step (a re-added job carries attemptBase) may have left
  // attempts; a first step without either has none yet, and its claim skips reading them.
  const mayHavePending = job.attemptsStarted > 1 || payload.attemptBase !== undefined;
  // The read and the running mark in one statement; a task that cannot run this step is read to say why.
  const task = await deps.reader.claim(taskId, step, queueModel, step > 0 || mayHavePending);
  if (!task) return whyNotClaimed(deps, taskId, step, queueModel);
  const modelName = queueModel;
  let messages = buildMessages(task);
  if (task.partKind === 'reduce') {
    const input = await reduceInput(deps, task);
    if (!input.ready && 'waitMs' in input) return { handBack: { kind: 'delay', ms: input.waitMs } };
    if (!input.ready) {
      await failTask(deps, task, input.failed.error, input.failed.parentError);
      return { handBack: { kind: 'end', reason: 'a map part failed' } };
    }
    messages = [{ role: 'user', content: input.prompt }];
  }
  // The same estimate as the API's pre-flight check, over exactly what is sent: the count the API stored with the
  // task (so this process never loads a tokenizer for it), else counted here — a reduce part's prompt is built here.
  const sent = { prompt: task.prompt, messages, system: task.system };
  const counted = task.partKind === 'reduce' ? undefined : task.params.inputTokens;
  const tokensOn = (name: string, m: ModelConfig) => counted?.[name] ?? estimateInputTokens(sent, m);
  const inputTokens = tokensOn(modelName, modelConfig);
  return {
    run: {
      task,
      step,
      attempt: (payload.attemptBase ?? 0) + job.attemptsStarted,
      mayHavePending,
      modelName,
      modelConfig,
      model,
      messages,
      inputTokens,
      maxTokens: outputLimit(modelConfig, task.params.maxTokens),
      worstCaseMicros: worstCaseMicros(inputTokens, outputLimit(modelConfig, task.params.maxTokens), modelConfig),
      worstCaseOn: (name) => {
        const m = findModel(deps.config, name);
        if (!m) return undefined;
        const tokens = tokensOn(name, m);
        return worstCaseMicros(tokens, outputLimit(m, task.params.maxTokens), m);
      },
      timeoutMs: timeoutMs(task, deps.config),
    },
  };
}

/** Why a task could not be claimed: read as it is now (another delivery may have moved it on meanwhile). */
async function whyNotClaimed(
  deps: StepDeps,
  taskId: string,
  step: number,
  queueModel: string,
): Promise<{ skipped: StepOutcome } | { handBack: Handback }> {
  const task = await deps.reader.load(taskId, false);
  if (!task) return { handBack: { kind: 'end', reason: `task ${taskId} not found` } };
  if (isTerminal(task.status)) return { skipped: { outcome: 'skipped', why: 'terminal' } };
  if (task.currentStep > step) return { skipped: { outcome: 'skipped', why: 'stale' } };
  const planned = task.plan[step];
  if (planned !== queueModel) {
    return { handBack: { kind: 'end', reason: `step ${step} of ${taskId} is for ${planned}, not ${queueModel}` } };
  }
  // Claimable now: it lost to another step's claim in the same statement (a stale delivery beside this one). Run
  // again shortly, without spending a retry; the claim then decides.
  return { handBack: { kind: 'delay', ms: 50 } };
}

/** Whole milliseconds: timers, Redis TTLs and the budget hold need integers. */
function timeoutMs(task: TaskWithAttempts, config: OrchexConfig): number {
  return Math.max(1, Math.round((task.params.timeoutSec ?? config.orchestrator.timeout) * 1000));
}
