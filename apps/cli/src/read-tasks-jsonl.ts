import { readFile } from 'node:fs/promises';
import type { Task } from '@orchex/client';
import { CliError, EXIT } from './cli-io.ts';

/** Most tasks one `batch run` submits: the API's batch limit. */
export const MAX_FILE_TASKS = 10_000;
/** Bad lines listed before "… and N more". */
const MAX_LISTED = 20;

/** Tasks read from a JSONL file, each with the 1-based line it came from. */
export interface TaskLines {
  tasks: Task[];
  /** lines[i] is the file line of tasks[i] (blank lines are skipped, so they differ). */
  lines: number[];
}

const toCamel = (k: string) => k.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

/**
 * Reads one task per line (JSON objects; the API's snake_case or the client's camelCase keys, e.g. `max_tokens` or
 * `maxTokens`); blank lines are skipped. Any unreadable line fails the whole file, naming every bad line, so nothing
 * is submitted. Field-level checks are the API's (see {@link lineOfField}).
 */
export async function readTasksJsonl(path: string): Promise<TaskLines> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CliError(
      `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      EXIT.usage,
    );
  }
  const tasks: Task[] = [];
  const lines: number[] = [];
  const bad: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      bad.push(`${path}:${line}: not valid JSON (${(err as Error).message})`);
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      bad.push(`${path}:${line}: must be a JSON object like {"prompt": "…", "task_type": "code"}`);
      return;
    }
    const task: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) task[k === 'metadata' ? k : toCamel(k)] = v;
    tasks.push(task as unknown as Task);
    lines.push(line);
  });
  if (bad.length > 0) {
    const more = bad.length > MAX_LISTED ? `\n… and ${bad.length - MAX_LISTED} more bad lines` : '';
    throw new CliError(`${bad.slice(0, MAX_LISTED).join('\n')}${more}\nnothing was submitted`, EXIT.usage);
  }
  if (tasks.length === 0) throw new CliError(`${path}: no tasks (one JSON object per line)`, EXIT.usage);
  if (tasks.length > MAX_FILE_TASKS) {
    throw new CliError(
      `${path}: ${tasks.length} tasks; a batch holds at most ${MAX_FILE_TASKS}, split the file`,
      EXIT.usage,
    );
  }
  return { tasks, lines };
}

/** `tasks.12.max_tokens` → `line 14: max_tokens` using the file's line numbers; other names are returned as is. */
export function lineOfField(field: string, lines: number[]): string {
  const m = /^tasks\.(\d+)(?:\.(.+))?$/.exec(field);
  const line = m ? lines[Number(m[1])] : undefined;
  if (!m || line === undefined) return field;
  return m[2] ? `line ${line}: ${m[2]}` : `line ${line}`;
}
