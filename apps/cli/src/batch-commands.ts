import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { type Orchestrator, ValidationError } from '@orchex/client';
import { CliError, type CliIo, EXIT } from './cli-io.ts';
import { formatDuration, formatUsd, ProgressReporter } from './progress-bar.ts';
import { lineOfField, readTasksJsonl } from './read-tasks-jsonl.ts';

/** Options of `orchex batch run`. */
export interface BatchRunOptions {
  out?: string;
  name?: string;
  json?: boolean;
  /** Seconds between plain progress lines when stderr is not a TTY. Default 5. */
  progressEvery?: number;
}

/**
 * `orchex batch run tasks.jsonl`: submits every line as one batch (all or nothing), shows progress on stderr, then
 * writes one JSON result per task in input order to --out (or stdout). Exit 0 when every task succeeded, 1 when
 * any failed or was cancelled (all results are still written), 2 when the file or a task is invalid.
 */
export async function batchRunCommand(
  client: Orchestrator,
  file: string,
  o: BatchRunOptions,
  io: CliIo,
): Promise<number> {
  const { tasks, lines } = await readTasksJsonl(file);
  const started = Date.now();
  let batch: { id: string; size: number };
  try {
    batch = await client.submitBatch(tasks, o.name ? { name: o.name } : {});
  } catch (err) {
    if (err instanceof ValidationError && err.fields.length > 0) {
      const listed = err.fields.map((f) => `${file}:${lineOfField(f.field, lines)}: ${f.message}`);
      throw new CliError(`${listed.join('\n')}\nnothing was submitted`, EXIT.usage);
    }
    throw err;
  }
  io.stderr.write(`batch ${batch.id}: ${batch.size} tasks submitted\n`);
  const progress = new ProgressReporter(io.stderr, (o.progressEvery ?? 5) * 1000);
  const interrupted = () => {
    progress.finish();
    io.stderr.write(`\ninterrupted: batch ${batch.id} keeps running (orchex batch cancel ${batch.id} stops it)\n`);
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  let info: Awaited<ReturnType<Orchestrator['waitForBatch']>>;
  try {
    info = await client.waitForBatch(batch.id, (p) => progress.update(p));
  } finally {
    process.off('SIGINT', interrupted);
    progress.finish();
  }

  const out = o.out ? createWriteStream(o.out) : undefined;
  const write = async (line: string) => {
    if (!out) return void io.stdout.write(line);
    if (!out.write(line)) await once(out, 'drain');
  };
  let written = 0;
  for await (const r of client.batchResults(batch.id)) {
    const result = {
      line: lines[r.index],
      index: r.index,
      id: r.id,
      status: r.status,
      model: r.model,
      content: r.content,
      cost: r.cost,
      usage: r.usage,
      finish_reason: r.finishReason,
      metadata: r.metadata,
      error: r.error,
    };
    await write(`${JSON.stringify(result)}\n`);
    written++;
  }
  if (out) {
    out.end();
    await once(out, 'finish');
  }

  const { succeeded, failed, cancelled } = info.counts;
  const summary = {
    batch_id: batch.id,
    total: info.size,
    succeeded,
    failed,
    cancelled,
    cost: info.cost,
    seconds: (Date.now() - started) / 1000,
    written,
    out: o.out ?? null,
  };
  if (o.json) (o.out ? io.stdout : io.stderr).write(`${JSON.stringify(summary, null, 2)}\n`);
  else {
    io.stderr.write(
      `${info.size} tasks: ${succeeded} succeeded, ${failed} failed, ${cancelled} cancelled · ${formatUsd(info.cost)} · ${formatDuration(summary.seconds * 1000)}` +
        `${o.out ? ` · ${written} results → ${o.out}` : ''}\n`,
    );
  }
  return failed + cancelled > 0 ? EXIT.failed : EXIT.ok;
}

/** `orchex batch status ID`: counts, cost and times. */
export async function batchStatusCommand(
  client: Orchestrator,
  id: string,
  o: { json?: boolean },
  io: CliIo,
): Promise<number> {
  const b = await client.getBatch(id);
  if (o.json) io.stdout.write(`${JSON.stringify(b, null, 2)}\n`);
  else {
    const c = b.counts;
    io.stdout.write(
      `${b.id}${b.name ? ` (${b.name})` : ''}  ${b.status}  ${b.size} tasks: ${c.queued} queued, ${c.running} running, ${c.succeeded} succeeded, ${c.failed} failed, ${c.cancelled} cancelled · ${formatUsd(b.cost)}\n`,
    );
  }
  return EXIT.ok;
}

/** `orchex batch cancel ID`: cancels the tasks not started yet. */
export async function batchCancelCommand(
  client: Orchestrator,
  id: string,
  o: { json?: boolean },
  io: CliIo,
): Promise<number> {
  const r = await client.cancelBatch(id);
  io.stdout.write(
    o.json ? `${JSON.stringify(r)}\n` : `cancelled ${r.cancelled} tasks not yet started; running ones will finish\n`,
  );
  return EXIT.ok;
}
