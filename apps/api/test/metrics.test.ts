import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allLabelValues,
  histogramCount,
  type MetricFamily,
  parseMetrics,
  sampleValue,
} from '../../../test/support/prometheus-text.ts';
import {
  OTHER_API_KEY,
  startSystem,
  TEST_ADMIN_KEY,
  TEST_API_KEY,
  type TestSystem,
} from '../../../test/support/start-system.ts';
import { spawnWorker, type WorkerProcess } from '../../../test/support/worker-process.ts';

// The API and a real worker process (with its --metrics-port listener) on the shared services; four tasks whose
// paths are scripted on the fake: one plain success, one 429 then success, one re-route, one budget refusal.
const METRICS_TOKEN = 'metrics-token-00000001';
const PROMPT = 'a prompt that must never reach a metric';
let sys: TestSystem;
let worker: WorkerProcess;
let workerUrl: string;
const taskIds: string[] = [];

async function runTask(body: Record<string, unknown>, key = TEST_API_KEY) {
  const res = await sys.call('/v1/tasks', { method: 'POST', json: { prompt: PROMPT, max_tokens: 100, ...body }, key });
  expect(res.status).toBe(202);
  const { id } = (await res.json()) as { id: string };
  taskIds.push(id);
  const done = await (await sys.call(`/v1/tasks/${id}?wait=30`, { key })).json();
  return done as { status: string; cost: number; failure?: { kind: string } | null; error?: unknown };
}

let lastText = '';
async function scrape(url: string, token = METRICS_TOKEN): Promise<MetricFamily[]> {
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  expect(text).not.toContain(PROMPT);
  lastText = text;
  return parseMetrics(text);
}

beforeAll(async () => {
  sys = await startSystem('metrics', { workers: false, metricsToken: METRICS_TOKEN });
  worker = spawnWorker({ ...sys.env, ORCHEX_METRICS_TOKEN: METRICS_TOKEN, ORCHEX_BACKOFF_BASE_MS: '50' }, [
    '--metrics-port',
    '0',
    '--metrics-host',
    '127.0.0.1',
  ]);
  await worker.ready;
  // The listener starts right after the workers; its port (0 = any free one) is in its log line.
  const deadline = Date.now() + 10_000;
  const listening = () => worker.logLines().find((l) => l.msg === 'metrics listening')?.port;
  while (!listening() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const port = listening();
  workerUrl = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  worker?.proc.kill('SIGTERM');
  await worker?.exited;
  await sys?.close();
});

describe('metrics after one success, one retried 429, one re-route and one budget refusal', () => {
  it('runs the four tasks', async () => {
    expect((await runTask({ fallback_chain: ['claude-test'] })).status).toBe('succeeded');

    sys.fake.script('gemini-test', [{ type: 'error', status: 429, headers: { 'retry-after': '1' } }]);
    expect((await runTask({ fallback_chain: ['gemini-test'] })).status).toBe('succeeded');

    sys.fake.script('llama-test', [{ type: 'error', status: 400 }]);
    expect((await runTask({ fallback_chain: ['llama-test', 'gpt-test'] })).status).toBe('succeeded');

    // The other key's daily budget is capped at $0: its call is refused before it is made.
    const keys = (await (await sys.call('/v1/budget/keys', { key: TEST_ADMIN_KEY })).json()) as {
      keys: Array<{ key_id: string; key_hint: string }>;
    };
    const other = keys.keys.find((k) => k.key_hint === `…${OTHER_API_KEY.slice(-4)}`);
    const cap = await sys.call(`/v1/budget/keys/${other?.key_id}`, {
      method: 'PUT',
      json: { max_daily_cost: 0 },
      key: TEST_ADMIN_KEY,
    });
    expect(cap.status).toBe(200);
    const refused = await runTask({ fallback_chain: ['claude-test'] }, OTHER_API_KEY);
    expect(refused.status).toBe('failed');
  });

  it("the worker's /metrics shows exactly those calls, retries, re-routes and refusals", async () => {
    const m = await scrape(workerUrl);
    const requests = (model: string, outcome: string, error_kind = '') =>
      sampleValue(m, 'orchex_model_requests_total', { model, outcome, error_kind });
    expect(requests('claude-test', 'succeeded')).toBe(1);
    expect(requests('gemini-test', 'failed', 'rate_limited')).toBe(1);
    expect(requests('gemini-test', 'succeeded')).toBe(1);
    expect(requests('llama-test', 'failed', 'bad_request')).toBe(1);
    expect(requests('gpt-test', 'succeeded')).toBe(1);
    expect(sampleValue(m, 'orchex_model_requests_total')).toBe(5);
    expect(sampleValue(m, 'orchex_model_requests_total', { model: 'claude-test', provider: 'anthropic' })).toBe(1);

    expect(sampleValue(m, 'orchex_model_retries_total')).toBe(1);
    expect(sampleValue(m, 'orchex_model_retries_total', { model: 'gemini-test', error_kind: 'rate_limited' })).toBe(1);
    expect(sampleValue(m, 'orchex_model_reroutes_total')).toBe(1);
    expect(sampleValue(m, 'orchex_model_reroutes_total', { model: 'llama-test', reason: 'bad_request' })).toBe(1);
    expect(sampleValue(m, 'orchex_money_limit_refusals_total')).toBe(1);
    expect(sampleValue(m, 'orchex_money_limit_refusals_total', { model: 'claude-test', kind: 'budget_exceeded' })).toBe(
      1,
    );

    // Histograms: one observation per call.
    expect(histogramCount(lastText, 'orchex_model_call_duration_seconds')).toBe(5);
    // Tokens and cost: what the three successful tasks' records say.
    expect(sampleValue(m, 'orchex_model_tokens_total', { type: 'input' })).toBeGreaterThan(0);
    const costs = await Promise.all(
      taskIds
        .slice(0, 3)
        .map(async (id) => ((await (await sys.call(`/v1/tasks/${id}`)).json()) as { cost: number }).cost),
    );
    expect(sampleValue(m, 'orchex_model_cost_usd_total')).toBeCloseTo(
      costs.reduce((a, b) => a + b, 0),
      6,
    );
    expect(m.some((f) => f.name === 'process_cpu_seconds_total')).toBe(true);
    expectBoundedLabels(m);
  });

  it("the API's /metrics shows its requests, the queues, the live limits and the budget", async () => {
    const m = await scrape(sys.url);
    expect(sampleValue(m, 'orchex_http_requests_total', { method: 'POST', route: '/v1/tasks', status: '202' })).toBe(4);
    expect(sampleValue(m, 'orchex_http_requests_total', { route: '/v1/tasks/:id', status: '200' })).toBeGreaterThan(3);
    // Jobs: each success completed its step's job; the re-routed and the refused step ended theirs as failed.
    const jobs = (model: string, state: string) => sampleValue(m, 'orchex_queue_jobs', { model, state });
    expect(jobs('claude-test', 'completed')).toBe(1);
    expect(jobs('claude-test', 'failed')).toBe(1);
    expect(jobs('gemini-test', 'completed')).toBe(1);
    expect(jobs('llama-test', 'failed')).toBe(1);
    expect(jobs('gpt-test', 'completed')).toBe(1);
    expect(jobs('gpt-test', 'waiting')).toBe(0);
    // Live limits: two calls of gemini-test in its window, none in flight, its limits from the config.
    expect(sampleValue(m, 'orchex_model_window_requests', { model: 'gemini-test' })).toBe(2);
    expect(sampleValue(m, 'orchex_model_rpm_limit', { model: 'gemini-test' })).toBe(6000);
    expect(sampleValue(m, 'orchex_model_slots_in_use', { model: 'gemini-test' })).toBe(0);
    expect(sampleValue(m, 'orchex_model_max_concurrency', { model: 'gemini-test' })).toBe(50);
    const budget = (await (await sys.call('/v1/budget', { key: TEST_ADMIN_KEY })).json()) as { spent: number };
    expect(sampleValue(m, 'orchex_budget_spent_usd')).toBeCloseTo(budget.spent, 6);
    expect(sampleValue(m, 'orchex_budget_reserved_usd')).toBe(0);
    expectBoundedLabels(m);
  });

  it('needs the metrics token or the admin key, on the API and on the worker', async () => {
    for (const url of [sys.url, workerUrl]) {
      expect((await fetch(`${url}/metrics`)).status).toBe(401);
      expect((await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TEST_API_KEY}` } })).status).toBe(
        401,
      );
    }
    expect((await fetch(`${sys.url}/metrics`, { headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } })).status).toBe(
      200,
    );
    const health = await fetch(`${workerUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
  });
});

/** No label value is a task id, a key, a key id or user text: every one is a config name or a fixed word. */
function expectBoundedLabels(m: MetricFamily[]) {
  const values = allLabelValues(m);
  expect(values.length).toBeGreaterThan(0);
  for (const v of values) {
    expect(v).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/); // a UUID (task ids)
    expect(v).not.toMatch(/[0-9a-f]{32}/); // a key id
    for (const id of taskIds) expect(v).not.toContain(id);
    for (const key of [TEST_API_KEY, OTHER_API_KEY, TEST_ADMIN_KEY, METRICS_TOKEN]) expect(v).not.toContain(key);
    expect(v).not.toContain(PROMPT);
  }
}
