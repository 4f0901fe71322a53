import { readFile } from 'node:fs/promises';
import type { Orchestrator, Task, TaskInfo, TaskType } from '@orchex/client';
import { CliError, type CliIo, EXIT } from './cli-io.ts';
import { formatUsd } from './progress-bar.ts';

/** Options of `orchex submit`. */
export interface SubmitOptions {
  type?: TaskType;
  maxTokens?: number;
  system?: string;
  contextFile?: string;
  fallback?: string[];
  wait?: boolean;
  /** Print the answer as the model writes it (implies waiting). */
  stream?: boolean;
  json?: boolean;
}

/** `orchex submit "prompt"`: queues a task; with --wait, prints its answer like `orchex wait`. */
export async function submitCommand(
  client: Orchestrator,
  prompt: string,
  o: SubmitOptions,
  io: CliIo,
): Promise<number> {
  let context: string | undefined;
  if (o.contextFile) {
    try {
      context = await readFile(o.contextFile, 'utf8');
    } catch (err) {
      throw new CliError(
        `cannot read --context-file ${o.contextFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        EXIT.usage,
      );
    }
  }
  const task: Task = {
    prompt,
    ...(o.type ? { taskType: o.type } : {}),
    ...(o.maxTokens !== undefined ? { maxTokens: o.maxTokens } : {}),
    ...(o.system ? { system: o.system } : {}),
    ...(context !== undefined ? { context } : {}),
    ...(o.fallback ? { fallbackChain: o.fallback } : {}),
  };
  if (o.stream) return streamTask(client, task, io, o.json);
  const submitted = await client.submit(task);
  if (!o.wait) {
    if (o.json) io.stdout.write(`${JSON.stringify(submitted, null, 2)}\n`);
    else io.stdout.write(`${submitted.id}\n`);
    if (!o.json)
      io.stderr.write(
        `queued → ${submitted.model} (plan ${submitted.plan.join(' → ')}; worst case ${formatUsd(submitted.estimatedCost)})\n`,
      );
    return EXIT.ok;
  }
  return printTask(await client.waitForTask(submitted.id), io, o.json);
}

/**
 * `orchex submit --stream`: the answer on stdout as it is written; a model that fails mid-answer is said on stderr
 * and the fallback's answer follows. Ends like --wait (exit 1 when the task fails).
 */
async function streamTask(client: Orchestrator, task: Task, io: CliIo, json?: boolean): Promise<number> {
  for await (const event of client.stream(task)) {
    if (event.type === 'delta' && !json) io.stdout.write(event.text);
    else if (event.type === 'attempt-failed' && event.afterOutput && !json) {
      io.stderr.write(`\n[${event.model} failed mid-answer (${event.errorKind}); the fallback's answer follows]\n`);
    } else if (event.type === 'end') {
      if (!json) io.stdout.write('\n');
      return json ? printTask(event.task, io, true) : endOf(event.task, io);
    }
  }
  throw new CliError('the event stream ended before the task did', EXIT.failed);
}

/** After a streamed answer: the cost line on stderr, or the failure. */
function endOf(t: TaskInfo, io: CliIo): number {
  if (t.status !== 'succeeded') throw new CliError(`task ${t.id} ${t.status}: ${t.error?.message ?? ''}`, EXIT.failed);
  io.stderr.write(`${t.model} · ${formatUsd(t.cost)}\n`);
  return EXIT.ok;
}

/** `orchex get ID` (or `orchex wait ID` with `wait`). */
export async function getCommand(
  client: Orchestrator,
  id: string,
  o: { json?: boolean; wait?: boolean },
  io: CliIo,
): Promise<number> {
  const t = o.wait ? await client.waitForTask(id) : await client.getTask(id);
  return printTask(t, io, o.json);
}

/**
 * Human form: a status line on stderr and the answer alone on stdout (so `> answer.txt` keeps just the answer);
 * --json: the whole task on stdout. Exit 1 for a failed or cancelled task.
 */
function printTask(t: TaskInfo, io: CliIo, json: boolean | undefined): number {
  const failed = t.status === 'failed' || t.status === 'cancelled';
  if (json) {
    io.stdout.write(`${JSON.stringify(t, null, 2)}\n`);
    return failed ? EXIT.failed : EXIT.ok;
  }
  const attempts = t.attempts ?? [];
  const meta = [
    t.id,
    t.status,
    t.model ?? t.plan[t.currentStep] ?? '',
    formatUsd(t.cost),
    `${attempts.length} attempt${attempts.length === 1 ? '' : 's'}`,
  ];
  io.stderr.write(`${meta.filter(Boolean).join('  ')}\n`);
  if (failed) {
    for (const a of attempts) {
      io.stderr.write(
        `  step ${a.step} attempt ${a.attempt} ${a.model}: ${a.outcome}${a.errorKind ? ` (${a.errorKind}: ${a.errorMessage ?? ''})` : ''}\n`,
      );
    }
    throw new CliError(
      `task ${t.id} ${t.status}: ${t.error ? `${t.error.kind}: ${t.error.message}` : t.status}`,
      EXIT.failed,
    );
  }
  if (t.content !== null) io.stdout.write(t.content.endsWith('\n') ? t.content : `${t.content}\n`);
  return EXIT.ok;
}
