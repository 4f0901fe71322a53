import { type SQL, sql } from 'drizzle-orm';
import type { CostRange } from './cost-queries.ts';
import type { Db } from './create-database.ts';
import { attempts, tasks } from './schema.ts';

/** One arm of an A/B rule over a range, or (task_type and variant null) all arms together. */
export interface VariantSums {
  taskType: string | null;
  variant: string | null;
  /** Tasks the client submitted (parts of split tasks not counted). */
  tasks: number;
  succeeded: number;
  failed: number;
  /** Model calls, failed ones included (parts' calls counted with their task's arm). */
  requests: number;
  inputTokens: number;
  outputTokens: number;
  costMicros: number;
  /** Whole-call latency of the successful calls, ms; null when there were none. */
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Math.round(Number(v)));

/**
 * The A/B report: per (task type, variant) and in total, over tasks submitted in the range (UTC days of created_at)
 * that were assigned a variant. Read from tasks and attempts (not the rollups, which do not know variants), through
 * the partial index on tasks(variant, created_at), so it costs a scan of the experiment's rows only.
 */
export async function variantReport(db: Db, range: CostRange): Promise<{ total: VariantSums; groups: VariantSums[] }> {
  const key: SQL = range.apiKeyId === undefined ? sql`true` : sql`t.api_key_id = ${range.apiKeyId}`;
  const { rows } = await db.execute<Record<string, unknown>>(sql`
    with t as (
      select t.id, t.parent_task_id, t.task_type, t.variant, t.status
      from ${tasks} t
      where t.variant is not null and ${key}
        and t.created_at >= ${range.from}::date and t.created_at < ${range.to}::date + 1
    ),
    a as (
      select a.task_id, a.outcome, a.latency_ms, a.input_tokens, a.output_tokens, a.cost_micros
      from ${attempts} a join t on t.id = a.task_id
    )
    select grouping(t.task_type, t.variant) as g, t.task_type, t.variant,
           count(distinct t.id) filter (where t.parent_task_id is null) as tasks,
           count(distinct t.id) filter (where t.parent_task_id is null and t.status = 'succeeded') as succeeded,
           count(distinct t.id) filter (where t.parent_task_id is null and t.status = 'failed') as failed,
           count(a.task_id) as requests,
           coalesce(sum(a.input_tokens), 0)::bigint as input_tokens,
           coalesce(sum(a.output_tokens), 0)::bigint as output_tokens,
           coalesce(sum(a.cost_micros), 0)::bigint as cost_micros,
           percentile_cont(0.5) within group (order by a.latency_ms) filter (where a.outcome = 'succeeded') as p50,
           percentile_cont(0.95) within group (order by a.latency_ms) filter (where a.outcome = 'succeeded') as p95
    from t left join a on a.task_id = t.id
    group by grouping sets ((t.task_type, t.variant), ())`);
  let total: VariantSums | undefined;
  const groups: VariantSums[] = [];
  for (const r of rows) {
    const sums: VariantSums = {
      taskType: r.task_type === null ? null : String(r.task_type),
      variant: r.variant === null ? null : String(r.variant),
      tasks: num(r.tasks),
      succeeded: num(r.succeeded),
      failed: num(r.failed),
      requests: num(r.requests),
      inputTokens: num(r.input_tokens),
      outputTokens: num(r.output_tokens),
      costMicros: num(r.cost_micros),
      latencyP50Ms: numOrNull(r.p50),
      latencyP95Ms: numOrNull(r.p95),
    };
    if (num(r.g) === 0) groups.push(sums);
    else total = sums;
  }
  groups.sort((x, y) => `${x.taskType}/${x.variant}`.localeCompare(`${y.taskType}/${y.variant}`));
  const none = { taskType: null, variant: null, tasks: 0, succeeded: 0, failed: 0, requests: 0 };
  return {
    total: total ?? { ...none, inputTokens: 0, outputTokens: 0, costMicros: 0, latencyP50Ms: null, latencyP95Ms: null },
    groups,
  };
}
