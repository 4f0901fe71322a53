import type { TaskStatus } from '@orchex/core';
import { type SQL, sql } from 'drizzle-orm';
import type { Db } from './create-database.ts';
import { costRollups } from './schema.ts';

/** Ways the cost report can group its rows. */
export const COST_GROUP_BYS = ['model', 'task_type', 'day', 'provider'] as const;

/** One of COST_GROUP_BYS. */
export type CostGroupBy = (typeof COST_GROUP_BYS)[number];

/** Which rollup rows a cost query reads: whole UTC days, both ends included. */
export interface CostRange {
  /** First UTC day, `YYYY-MM-DD`. */
  from: string;
  /** Last UTC day, `YYYY-MM-DD` (included). */
  to: string;
  /** Only this API key's costs; undefined = every key (admin). */
  apiKeyId?: string | undefined;
}

/** Sums over some rollup rows. Money in micro-dollars. */
export interface CostSums {
  requests: number;
  failed: number;
  inputTokens: number;
  outputTokens: number;
  costMicros: number;
  /** Tasks answered from the result cache (no call: not in requests). */
  cacheHits: number;
  /** What those answers' original calls cost. */
  savedMicros: number;
}

/** One group of the report; `key` is null for tasks without a task type. */
export interface CostGroup extends CostSums {
  key: string | null;
}

/** What costReport returns: totals, the per-model split, and the grouping asked for. */
export interface CostReportData {
  total: CostSums;
  byModel: Array<CostSums & { model: string }>;
  groups: CostGroup[];
}

// Per grouping: the column grouped on, and how its key is shown — applied per group, not per rollup row. `day` is
// shown as text so keys are 'YYYY-MM-DD' on both drivers (node-postgres would make a local-time Date of a date).
const GROUPING: Record<CostGroupBy, { column: SQL; key: SQL }> = {
  model: { column: sql`model`, key: sql`model` },
  task_type: { column: sql`task_type`, key: sql`nullif(task_type, '')` },
  day: { column: sql`day`, key: sql`to_char(day, 'YYYY-MM-DD')` },
  provider: { column: sql`provider`, key: sql`provider` },
};

function rangeWhere(range: CostRange): SQL {
  const days = sql`day between ${range.from}::date and ${range.to}::date`;
  return range.apiKeyId === undefined ? days : sql`${days} and api_key_id = ${range.apiKeyId}`;
}

// Drivers return sums of bigints as strings (node-postgres) or bigint (PGlite); the values fit a double exactly
// up to 2^53 micro-dollars (9 billion USD).
const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

function sums(r: Record<string, unknown>): CostSums {
  return {
    requests: num(r.requests),
    failed: num(r.failed),
    inputTokens: num(r.input_tokens),
    outputTokens: num(r.output_tokens),
    costMicros: num(r.cost_micros),
    cacheHits: num(r.cache_hits),
    savedMicros: num(r.saved_micros),
  };
}

const SUMS = sql`sum(requests)::bigint as requests, sum(failed)::bigint as failed,
  sum(input_tokens)::bigint as input_tokens, sum(output_tokens)::bigint as output_tokens,
  sum(cost_micros)::bigint as cost_micros, sum(cache_hits)::bigint as cache_hits,
  sum(saved_micros)::bigint as saved_micros`;

/**
 * Totals, per-model sums and the requested grouping over `cost_rollups` in one scan (GROUPING SETS), so the report
 * costs one index range read of rollup rows however many attempts they summarise. A "request" is one attempt (one
 * model call), failed ones included.
 */
export async function costReport(db: Db, range: CostRange & { groupBy: CostGroupBy }): Promise<CostReportData> {
  const { column, key } = GROUPING[range.groupBy];
  // grouping(...) = 1 marks the column as rolled up in that row's set; model-grouping needs only one set.
  const sets = range.groupBy === 'model' ? sql`(model), ()` : sql`(model), (${column}), ()`;
  const { rows } = await db.execute<Record<string, unknown>>(sql`
    select grouping(model) as g_model, ${range.groupBy === 'model' ? sql`1` : sql`grouping(${column})`} as g_key,
           model, ${key} as key, ${SUMS}
    from ${costRollups}
    where ${rangeWhere(range)}
    group by grouping sets (${sets})`);
  let total: CostSums = {
    requests: 0,
    failed: 0,
    inputTokens: 0,
    outputTokens: 0,
    costMicros: 0,
    cacheHits: 0,
    savedMicros: 0,
  };
  const byModel: CostReportData['byModel'] = [];
  const groups: CostGroup[] = [];
  for (const r of rows) {
    const gModel = num(r.g_model);
    const gKey = num(r.g_key);
    if (gModel === 0) byModel.push({ model: String(r.model), ...sums(r) });
    else if (gKey === 0) groups.push({ key: r.key === null ? null : String(r.key), ...sums(r) });
    else total = sums(r);
  }
  byModel.sort((a, b) => b.costMicros - a.costMicros || a.model.localeCompare(b.model));
  if (range.groupBy === 'model') {
    groups.push(...byModel.map(({ model, ...s }) => ({ key: model, ...s })));
  } else if (range.groupBy === 'day') {
    groups.sort((a, b) => String(a.key).localeCompare(String(b.key)));
  } else {
    groups.sort((a, b) => b.costMicros - a.costMicros || String(a.key).localeCompare(String(b.key)));
  }
  return { total, byModel, groups };
}

/** Sums per (model, provider): what the CostAnalyzer prices again at the baseline model's rates. */
export async function costByModel(
  db: Db,
  range: CostRange,
): Promise<Array<CostSums & { model: string; provider: string }>> {
  const { rows } = await db.execute<Record<string, unknown>>(sql`
    select model, provider, ${SUMS}
    from ${costRollups}
    where ${rangeWhere(range)}
    group by model, provider
    order by model, provider`);
  return rows.map((r) => ({ model: String(r.model), provider: String(r.provider), ...sums(r) }));
}

/** One line of the dashboard's "most recent tasks". */
export interface RecentTask {
  id: string;
  status: TaskStatus;
  /** The model that answered, or (not finished yet) the plan's current model. */
  model: string | null;
  taskType: string | null;
  costMicros: number;
  createdAt: string;
  finishedAt: string | null;
}

/**
 * The newest top-level tasks of the given API key ids (long-context parts are left out: their parent stands for
 * them). One index walk per key over (api_key_id, created_at desc), merged: a plain ORDER BY over all keys would
 * sort the whole tasks table on every dashboard refresh.
 */
export async function recentTasks(db: Db, opts: { limit: number; apiKeyIds: string[] }): Promise<RecentTask[]> {
  if (opts.apiKeyIds.length === 0) return [];
  const { rows } = await db.execute<Record<string, unknown>>(sql`
    select t.* from (values ${sql.join(
      opts.apiKeyIds.map((k) => sql`(${k})`),
      sql`, `,
    )}) as k(api_key_id)
    cross join lateral (
      select id, status, coalesce(model, plan->>current_step) as model, task_type, cost_micros, created_at,
             to_json(created_at) #>> '{}' as created_text, to_json(finished_at) #>> '{}' as finished_text
      from tasks
      where tasks.api_key_id = k.api_key_id and parent_task_id is null
      order by created_at desc nulls last -- the index's order; plain DESC (nulls first) would not use it
      limit ${opts.limit}
    ) t
    order by t.created_at desc, t.id
    limit ${opts.limit}`);
  return rows.map((r) => ({
    id: String(r.id),
    status: r.status as TaskStatus,
    model: r.model === null ? null : String(r.model),
    taskType: r.task_type === null ? null : String(r.task_type),
    costMicros: num(r.cost_micros),
    createdAt: String(r.created_text),
    finishedAt: r.finished_text === null ? null : String(r.finished_text),
  }));
}
