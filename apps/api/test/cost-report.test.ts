import { faults } from '@orchex/providers/fake';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  OTHER_API_KEY,
  startSystem,
  TEST_ADMIN_KEY,
  TEST_API_KEY,
  type TestSystem,
} from '../../../test/support/start-system.ts';
import { loadKeyId } from '../src/key-id-secret.ts';

/** Sums per attempt dimension, straight from the attempts table (no rollup involved). */
interface AttemptSums {
  model: string;
  provider: string;
  task_type: string | null;
  day: string;
  requests: number;
  failed: number;
  input_tokens: number;
  output_tokens: number;
  cost_micros: number;
}

interface Report {
  from: string;
  to: string;
  group_by: string;
  total_cost: number;
  total_requests: number;
  avg_cost_per_request: number;
  cost_by_model: Record<string, number>;
  groups: Array<{ key: string | null; cost: number; requests: number; input_tokens: number; output_tokens: number }>;
}

interface Analysis {
  from: string;
  to: string;
  baseline_model: string;
  total_cost: number;
  potential_cost: number;
  savings: number;
  savings_percent: number;
  total_requests: number;
  failed_requests: number;
  distribution_by_family: Record<string, number>;
  distribution_by_model: Record<string, number>;
  optimization_score: number | null;
}

const NO_KEYWORDS =
  'Tell me a little about the weather patterns that tend to appear near the northern coast in late spring';

let sys: TestSystem;

async function runTask(body: Record<string, unknown>, key: string): Promise<void> {
  const res = await sys.call('/v1/tasks', { method: 'POST', json: body, key });
  expect(res.status, await res.clone().text()).toBe(202);
  const { id } = (await res.json()) as { id: string };
  for (let i = 0; i < 10; i++) {
    const got = (await (await sys.call(`/v1/tasks/${id}?wait=10`, { key })).json()) as { status: string };
    if (got.status === 'succeeded' || got.status === 'failed') return;
  }
  throw new Error(`task ${id} did not finish`);
}

async function attemptSums(apiKey?: string): Promise<AttemptSums[]> {
  const keyId = await loadKeyId(sys.database.db); // the secret the API generated and kept on start
  const owner = apiKey === undefined ? sql`` : sql`where t.api_key_id = ${keyId(apiKey)}`;
  const { rows } = await sys.database.db.execute<Record<string, unknown>>(sql`
    select a.model, a.provider, t.task_type, to_char(a.finished_at at time zone 'utc', 'YYYY-MM-DD') as day,
           count(*) as requests, count(*) filter (where a.outcome = 'failed') as failed,
           sum(a.input_tokens) as input_tokens, sum(a.output_tokens) as output_tokens, sum(a.cost_micros) as cost_micros
    from attempts a join tasks t on t.id = a.task_id ${owner}
    group by 1, 2, 3, 4`);
  return rows.map((r) => ({
    model: String(r.model),
    provider: String(r.provider),
    task_type: r.task_type === null ? null : String(r.task_type),
    day: String(r.day),
    requests: Number(r.requests),
    failed: Number(r.failed),
    input_tokens: Number(r.input_tokens),
    output_tokens: Number(r.output_tokens),
    cost_micros: Number(r.cost_micros),
  }));
}

/** Adds up rows by one dimension, in integer micro-dollars like the server. */
function sumBy(rows: AttemptSums[], dim: (r: AttemptSums) => string | null) {
  const out = new Map<string | null, { cost: number; requests: number; input_tokens: number; output_tokens: number }>();
  for (const r of rows) {
    const k = dim(r);
    const s = out.get(k) ?? { cost: 0, requests: 0, input_tokens: 0, output_tokens: 0 };
    s.cost += r.cost_micros;
    s.requests += r.requests;
    s.input_tokens += r.input_tokens;
    s.output_tokens += r.output_tokens;
    out.set(k, s);
  }
  return out;
}

const DIMENSIONS: Record<string, (r: AttemptSums) => string | null> = {
  model: (r) => r.model,
  task_type: (r) => r.task_type,
  day: (r) => r.day,
  provider: (r) => r.provider,
};

async function getJson<T>(path: string, key: string): Promise<T> {
  const res = await sys.call(path, { key });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as T;
}

/** The report for `key` must equal sums over that key's attempts, for every grouping. */
async function expectReportMatchesAttempts(key: string, apiKey: string | undefined) {
  const rows = await attemptSums(apiKey);
  expect(rows.length).toBeGreaterThan(0);
  const totalMicros = rows.reduce((s, r) => s + r.cost_micros, 0);
  const requests = rows.reduce((s, r) => s + r.requests, 0);
  const byModel = sumBy(rows, DIMENSIONS.model!);
  for (const [groupBy, dim] of Object.entries(DIMENSIONS)) {
    const report = await getJson<Report>(`/v1/costs/report?group_by=${groupBy}`, key);
    expect(report.group_by).toBe(groupBy);
    expect(report.total_cost).toBe(totalMicros / 1e6);
    expect(report.total_requests).toBe(requests);
    expect(report.avg_cost_per_request).toBe(Math.round(totalMicros / requests) / 1e6);
    expect(report.cost_by_model).toEqual(Object.fromEntries([...byModel].map(([m, s]) => [m, s.cost / 1e6])));
    const expected = sumBy(rows, dim);
    expect(report.groups).toHaveLength(expected.size);
    for (const g of report.groups) {
      const e = expected.get(g.key);
      expect(e, `group ${g.key}`).toBeDefined();
      expect(g).toEqual({
        key: g.key,
        cost: e!.cost / 1e6,
        requests: e!.requests,
        input_tokens: e!.input_tokens,
        output_tokens: e!.output_tokens,
        // No task of this file asks for the result cache (result-cache.test.ts covers hits and savings).
        cache_hits: 0,
        saved_by_cache: 0,
      });
    }
  }
  return rows;
}

/** The analysis computed independently: same tokens at the baseline's list prices, rounded up once. */
function expectedAnalysis(rows: AttemptSums[], baseline: string) {
  const m = sys.config.models[baseline]!;
  const input = BigInt(rows.reduce((s, r) => s + r.input_tokens, 0));
  const output = BigInt(rows.reduce((s, r) => s + r.output_tokens, 0));
  const num =
    input * BigInt(Math.round(m.input_cost_per_1k * 1e9)) + output * BigInt(Math.round(m.output_cost_per_1k * 1e9));
  const potential = Number((num + 999_999n) / 1_000_000n);
  const actual = rows.reduce((s, r) => s + r.cost_micros, 0);
  const requests = rows.reduce((s, r) => s + r.requests, 0);
  const failed = rows.reduce((s, r) => s + r.failed, 0);
  const pct = (n: number) => Math.round((n / requests) * 10_000) / 100;
  const family = { anthropic: 'claude', openai: 'gpt', google: 'gemini', ollama: 'local' } as Record<string, string>;
  const byFamily: Record<string, number> = { claude: 0, gpt: 0, gemini: 0, local: 0 };
  for (const r of rows) byFamily[family[r.provider]!]! += r.requests;
  const byModel = sumBy(rows, DIMENSIONS.model!);
  const efficiency = Math.min(1, Math.max(0, (potential - actual) / potential));
  return {
    baseline_model: baseline,
    total_cost: actual / 1e6,
    potential_cost: potential / 1e6,
    savings: (potential - actual) / 1e6,
    savings_percent: Math.round(((potential - actual) / potential) * 10_000) / 100,
    total_requests: requests,
    failed_requests: failed,
    distribution_by_family: Object.fromEntries(Object.entries(byFamily).map(([f, n]) => [f, pct(n)])),
    distribution_by_model: Object.fromEntries([...byModel].map(([k, s]) => [k, pct(s.requests)])),
    optimization_score: Math.round(100 * (0.8 * efficiency + 0.2 * ((requests - failed) / requests))),
  };
}

beforeAll(async () => {
  sys = await startSystem('cost_report');
  // A failed attempt (retried) and cache-read tokens, so the sums cover more than plain successes.
  sys.fake.script('claude-test', [
    faults.serverError(),
    { type: 'ok', usage: { input: 1200, output: 300, cacheRead: 400 } },
  ]);
  sys.fake.script('gpt-test', [{ type: 'ok', usage: { input: 5000, output: 2000 } }]);
  const mine = [
    { prompt: 'Write a function that reverses a list', task_type: 'code' },
    { prompt: 'Refactor this python class', task_type: 'code' },
    { prompt: 'Survey recent advances in battery chemistry', task_type: 'research' },
    { prompt: 'Hello there', task_type: 'simple' },
    { prompt: 'Summarise this document', task_type: 'long_context' },
    { prompt: NO_KEYWORDS },
  ];
  const others = [
    { prompt: 'Literature review on sleep', task_type: 'research' },
    { prompt: 'Fix this rust bug', task_type: 'code' },
  ];
  // Mine first, so the scripted failure lands on one of this key's tasks.
  await Promise.all(mine.map((b) => runTask({ ...b, max_tokens: 300 }, TEST_API_KEY)));
  await Promise.all(others.map((b) => runTask({ ...b, max_tokens: 300 }, OTHER_API_KEY)));
});
afterAll(async () => sys?.close());

describe('GET /v1/costs/report', () => {
  it('equals sums over the attempts table, for each key and for the admin, in every grouping', async () => {
    const mine = await expectReportMatchesAttempts(TEST_API_KEY, TEST_API_KEY);
    const other = await expectReportMatchesAttempts(OTHER_API_KEY, OTHER_API_KEY);
    const all = await expectReportMatchesAttempts(TEST_ADMIN_KEY, undefined);
    // The fixtures really cover what the report must handle.
    expect(mine.some((r) => r.failed > 0)).toBe(true);
    expect(mine.some((r) => r.task_type === null)).toBe(true);
    expect(new Set(mine.map((r) => r.provider)).size).toBe(4);
    const total = (rows: AttemptSums[]) => rows.reduce((s, r) => s + r.cost_micros, 0);
    expect(total(all)).toBe(total(mine) + total(other));
    expect(total(other)).toBeGreaterThan(0);
  });

  it('scopes to the caller: another key sees none of these costs, the admin sees all', async () => {
    const mineModels = Object.keys((await getJson<Report>('/v1/costs/report', TEST_API_KEY)).cost_by_model);
    const other = await getJson<Report>('/v1/costs/report?group_by=task_type', OTHER_API_KEY);
    expect(other.groups.map((g) => g.key).sort()).toEqual(['code', 'research']);
    expect(mineModels).toContain('llama-test');
    expect(Object.keys(other.cost_by_model)).not.toContain('llama-test');
    const admin = await getJson<Report>('/v1/costs/report', TEST_ADMIN_KEY);
    const me = await getJson<Report>('/v1/costs/report', TEST_API_KEY);
    expect(admin.total_requests).toBe(me.total_requests + other.total_requests);
  });

  it('defaults to the last 30 UTC days and reads only the days asked for', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const monthAgo = new Date(Date.now() - 29 * 86_400_000).toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const def = await getJson<Report>('/v1/costs/report', TEST_API_KEY);
    expect([def.from, def.to]).toEqual([monthAgo, today]);
    const explicit = await getJson<Report>(`/v1/costs/report?from=${today}&to=${today}T23:59:59Z`, TEST_API_KEY);
    expect(explicit.total_cost).toBe(def.total_cost);
    const past = await getJson<Report>(`/v1/costs/report?from=2020-01-01&to=${yesterday}&group_by=day`, TEST_API_KEY);
    expect(past).toMatchObject({
      total_cost: 0,
      total_requests: 0,
      avg_cost_per_request: 0,
      cost_by_model: {},
      groups: [],
    });
  });

  it.each([
    ['group_by=tenant', 'group_by'],
    ['from=2025-02-30', 'from'],
    ['from=yesterday', 'from'],
    ['to=2025-01-01T10:00', 'to'],
    ['from=2025-03-02&to=2025-03-01', 'to'],
    ['from=2025-03-01&from=2025-03-02', 'from'],
    ['limit=5', 'limit'],
  ])('?%s → 400 naming %s', async (query, field) => {
    const res = await sys.call(`/v1/costs/report?${query}`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string; fields: Array<{ field: string }> } };
    expect(body.error.code).toBe('validation_error');
    expect(body.error.fields.map((f) => f.field)).toContain(field);
    expect(body.error.message).toContain(field);
  });

  it('needs an API key', async () => {
    expect((await sys.call('/v1/costs/report', { key: null })).status).toBe(401);
  });
});

describe('GET /v1/costs/analysis', () => {
  it('equals the analysis computed from the attempts table (default baseline: the research rule primary)', async () => {
    for (const [key, apiKey] of [
      [TEST_API_KEY, TEST_API_KEY],
      [OTHER_API_KEY, OTHER_API_KEY],
      [TEST_ADMIN_KEY, undefined],
    ] as const) {
      const rows = await attemptSums(apiKey);
      const got = await getJson<Analysis>('/v1/costs/analysis', key);
      expect(got).toMatchObject(expectedAnalysis(rows, 'gpt-test'));
    }
  });

  it('takes another baseline from the query; savings can be negative against a cheaper one', async () => {
    const rows = await attemptSums(TEST_API_KEY);
    const vsClaude = await getJson<Analysis>('/v1/costs/analysis?baseline=claude-test', TEST_API_KEY);
    expect(vsClaude).toMatchObject(expectedAnalysis(rows, 'claude-test'));
    const vsFree = await getJson<Analysis>('/v1/costs/analysis?baseline=llama-test', TEST_API_KEY);
    expect(vsFree.potential_cost).toBe(0);
    expect(vsFree.savings).toBeLessThan(0);
    expect(vsFree.optimization_score).toBeGreaterThanOrEqual(0);
    expect(vsFree.optimization_score).toBeLessThanOrEqual(100);
  });

  it('scores a range without requests 100: nothing was spent that routing could have saved', async () => {
    const got = await getJson<Analysis>('/v1/costs/analysis?from=2020-01-01&to=2020-01-31', TEST_API_KEY);
    expect(got).toMatchObject({ total_cost: 0, potential_cost: 0, total_requests: 0, optimization_score: 100 });
  });

  it("carries the seed's per-tier shares, and from=all covers every recorded day", async () => {
    const got = await getJson<Analysis & Record<string, number>>('/v1/costs/analysis?from=all', TEST_ADMIN_KEY);
    expect(got.from).toBe('1970-01-01');
    expect(got.total_requests).toBeGreaterThan(0);
    for (const f of ['claude_percent', 'gpt4_percent', 'gpt35_percent']) {
      expect(got[f], f).toBeGreaterThanOrEqual(0);
      expect(got[f], f).toBeLessThanOrEqual(100);
    }
    expect(got.claude_percent).toBe(
      (got as unknown as { distribution_by_family: { claude: number } }).distribution_by_family.claude,
    );
  });

  it.each([
    ['baseline=gpt-4', 'baseline'],
    ['from=2025-13-01', 'from'],
    ['group_by=model', 'group_by'],
  ])('?%s → 400 naming %s', async (query, field) => {
    const res = await sys.call(`/v1/costs/analysis?${query}`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { fields: Array<{ field: string }> } };
    expect(body.error.fields.map((f) => f.field)).toContain(field);
  });
});

describe('on PGlite (no DATABASE_URL)', () => {
  it('the report and the analysis read the same rollup (driver-neutral SQL and number parsing)', async () => {
    const lite = await startSystem('cost_report_pglite', { pglite: true });
    try {
      const res = await lite.call('/v1/tasks', {
        method: 'POST',
        json: { prompt: 'Write a function', task_type: 'code', max_tokens: 100 },
      });
      const { id } = (await res.json()) as { id: string };
      const task = (await (await lite.call(`/v1/tasks/${id}?wait=20`)).json()) as { cost: number; status: string };
      expect(task.status).toBe('succeeded');
      const report = (await (await lite.call('/v1/costs/report?group_by=day')).json()) as Report;
      expect(report).toMatchObject({
        total_cost: task.cost,
        total_requests: 1,
        cost_by_model: { 'claude-test': task.cost },
      });
      expect(report.groups).toEqual([
        expect.objectContaining({ key: new Date().toISOString().slice(0, 10), cost: task.cost, requests: 1 }),
      ]);
      const analysis = (await (await lite.call('/v1/costs/analysis')).json()) as Analysis;
      expect(analysis).toMatchObject({
        total_cost: task.cost,
        total_requests: 1,
        distribution_by_family: { claude: 100 },
      });
    } finally {
      await lite.close();
    }
  });
});
