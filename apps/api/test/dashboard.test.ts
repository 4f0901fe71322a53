import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../../../test/support/headless-browser.ts';
import { startSystem, TEST_ADMIN_KEY, TEST_API_KEY, type TestSystem } from '../../../test/support/start-system.ts';
import { testConfig } from '../../../test/support/test-config.ts';

interface Report {
  total_cost: number;
  total_requests: number;
  avg_cost_per_request: number;
  cost_by_model: Record<string, number>;
  cache_hits: number;
  saved_by_cache: number;
  groups: Array<{ key: string | null; cost: number; requests: number }>;
}

let sys: TestSystem;
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** Every URL the page requested: all must be ours (no CDN). */
const requested: string[] = [];
let documentLoads = 0;

async function runTasks(bodies: Array<Record<string, unknown>>): Promise<string[]> {
  return Promise.all(
    bodies.map(async (body) => {
      const res = await sys.call('/v1/tasks', { method: 'POST', json: { max_tokens: 200, ...body } });
      expect(res.status).toBe(202);
      const { id } = (await res.json()) as { id: string };
      const done = (await (await sys.call(`/v1/tasks/${id}?wait=30`)).json()) as { status: string };
      expect(done.status).toBe('succeeded');
      return id;
    }),
  );
}

async function adminGet<T>(path: string): Promise<T> {
  const res = await sys.call(path, { key: TEST_ADMIN_KEY });
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

/** The data-value of an element (the exact number behind its formatted text). */
const value = (selector: string) => page.locator(selector).getAttribute('data-value');

/** Everything on the page must equal what the API answers right now. */
async function expectPageEqualsApi() {
  const report = await adminGet<Report>('/v1/costs/report?group_by=model');
  const byType = await adminGet<Report>('/v1/costs/report?group_by=task_type');
  const analysis = await adminGet<{
    savings: number;
    potential_cost: number;
    savings_percent: number;
    optimization_score: number;
  }>('/v1/costs/analysis');
  const budget = await adminGet<{ limit: number | null; spent: number; reserved: number; remaining: number | null }>(
    '/v1/budget',
  );
  // The page refreshes every few seconds: wait for the refresh that has these tasks, then compare everything.
  await expect.poll(() => value('#total-requests'), { timeout: 15_000 }).toBe(String(report.total_requests));
  expect(Number(await value('#total-cost'))).toBe(report.total_cost);
  expect(Number(await value('#avg-cost'))).toBe(report.avg_cost_per_request);
  expect(Number(await value('#cache-hits'))).toBe(report.cache_hits);
  expect(Number(await value('#saved-by-cache'))).toBe(report.saved_by_cache);
  expect(await page.locator('#total-cost').textContent()).toMatch(/^\$\d/);
  for (const g of report.groups) {
    const row = page.locator(`#by-model tr[data-key="${g.key}"]`);
    expect(Number(await row.locator('[data-field="cost"]').getAttribute('data-value'))).toBe(g.cost);
    expect(Number(await row.locator('[data-field="requests"]').getAttribute('data-value'))).toBe(g.requests);
    expect(report.cost_by_model[g.key!]).toBe(g.cost);
  }
  expect(await page.locator('#by-model tr').count()).toBe(report.groups.length);
  for (const g of byType.groups) {
    const row = page.locator(`#by-task-type tr[data-key="${g.key ?? ''}"]`);
    expect(Number(await row.locator('[data-field="cost"]').getAttribute('data-value'))).toBe(g.cost);
    expect(Number(await row.locator('[data-field="requests"]').getAttribute('data-value'))).toBe(g.requests);
  }
  expect(await page.locator('#by-task-type tr').count()).toBe(byType.groups.length);
  expect(Number(await value('#savings'))).toBe(analysis.savings);
  expect(Number(await value('#potential-cost'))).toBe(analysis.potential_cost);
  expect(Number(await value('#savings-percent'))).toBe(analysis.savings_percent);
  expect(Number(await value('#optimization-score'))).toBe(analysis.optimization_score);
  expect(Number(await value('#today-spent'))).toBe(budget.spent);
  expect(Number(await value('#budget-limit'))).toBe(budget.limit);
  return report;
}

beforeAll(async () => {
  sys = await startSystem('dashboard', { config: testConfig({ cost_limits: { max_daily_cost: 5 } }) });
  browser = await launchBrowser();
  context = await browser.newContext({ httpCredentials: { username: 'admin', password: TEST_ADMIN_KEY } });
  page = await context.newPage();
  page.on('request', (r) => requested.push(r.url()));
  page.on('load', () => documentLoads++);
});
afterAll(async () => {
  await browser?.close();
  await sys?.close();
});

describe('GET /dashboard', () => {
  it('asks for the admin key with a Basic prompt, and only the admin key opens it', async () => {
    const none = await fetch(`${sys.url}/dashboard`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic /);
    const basic = (pw: string) => ({ authorization: `Basic ${Buffer.from(`admin:${pw}`).toString('base64')}` });
    expect((await fetch(`${sys.url}/dashboard`, { headers: basic(TEST_API_KEY) })).status).toBe(401);
    expect(
      (
        await fetch(`${sys.url}/dashboard/api/v1/costs/report`, {
          headers: { authorization: `Bearer ${TEST_API_KEY}` },
        })
      ).status,
    ).toBe(401);
    const ok = await fetch(`${sys.url}/dashboard`, { headers: basic(TEST_ADMIN_KEY) });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await ok.text();
    expect(html).toContain('<canvas id="gauge-chart"');
    expect(html).not.toContain(TEST_ADMIN_KEY);
    // The page's data routes forward only the listed reads, never writes or other /v1 routes.
    expect((await fetch(`${sys.url}/dashboard/api/v1/tasks`, { headers: basic(TEST_ADMIN_KEY) })).status).toBe(404);
    const put = await fetch(`${sys.url}/dashboard/api/v1/budget`, { method: 'PUT', headers: basic(TEST_ADMIN_KEY) });
    expect(put.status).toBe(404);
    const js = await fetch(`${sys.url}/dashboard/chart.js`, { headers: basic(TEST_ADMIN_KEY) });
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect(await js.text()).toContain('Chart');
  });

  it('shows the API report in headless Chromium and updates live without a reload', async () => {
    const first = await runTasks([
      { prompt: 'Write a function to parse dates', task_type: 'code' },
      { prompt: 'Survey recent advances in solar cells', task_type: 'research' },
      { prompt: 'Hi there', task_type: 'simple' },
    ]);
    await page.goto(`${sys.url}/dashboard`);
    const before = await expectPageEqualsApi();
    expect(before.total_requests).toBe(3);
    for (const id of first) expect(await page.locator(`#recent-tasks tr[data-id="${id}"]`).count()).toBe(1);
    // Charts drawn by chart.js (served from node_modules), gauge included.
    expect(await page.evaluate(() => typeof (window as unknown as { Chart?: unknown }).Chart)).toBe('function');
    const loadsBefore = documentLoads;
    await page.evaluate(() => {
      (window as unknown as { marker: string }).marker = 'same document';
    });

    const more = await runTasks([
      // Two identical cached tasks at once: one call, one cache hit (no third request).
      { prompt: 'Refactor this TypeScript class', task_type: 'code', cache: true },
      { prompt: 'Refactor this TypeScript class', task_type: 'code', cache: true },
      { prompt: 'Summarise the literature on sleep', task_type: 'research' },
      { prompt: 'Summarise this long report', task_type: 'long_context' },
    ]);
    const after = await expectPageEqualsApi();
    expect(after.total_requests).toBe(6);
    expect(after.cache_hits).toBe(1);
    expect(after.saved_by_cache).toBeGreaterThan(0);
    expect(after.total_cost).toBeGreaterThan(before.total_cost);
    const newest = page.locator(`#recent-tasks tr[data-id="${more[0]}"]`);
    await expect.poll(() => newest.count(), { timeout: 10_000 }).toBe(1);
    const task = (await (await sys.call(`/v1/tasks/${more[0]}`)).json()) as {
      model: string;
      cost: number;
      status: string;
    };
    expect(await newest.locator('[data-field="model"]').textContent()).toBe(task.model);
    expect(await newest.locator('[data-field="status"]').textContent()).toBe(task.status);
    expect(Number(await newest.locator('[data-field="cost"]').getAttribute('data-value'))).toBe(task.cost);

    // Each model's live limits, as GET /v1/models has them: requests in the window, slots, and no pause.
    const { data } = (await (await sys.call('/v1/models')).json()) as {
      data: Array<{ id: string; orchex: { limits?: { requests_in_window: number; slots_in_use: number } | null } }>;
    };
    for (const m of data.filter((x) => x.orchex.limits)) {
      const row = page.locator(`#model-limits tr[data-key="${m.id}"]`);
      await expect
        .poll(() => row.locator('[data-field="requests"]').getAttribute('data-value'), { timeout: 10_000 })
        .toBe(String(m.orchex.limits?.requests_in_window));
      expect(await row.locator('[data-field="slots"]').getAttribute('data-value')).toBe('0');
      expect(await row.locator('[data-field="paused"]').getAttribute('data-value')).toBe('');
    }
    const used = data.reduce((n, m) => n + (m.orchex.limits?.requests_in_window ?? 0), 0);
    expect(used).toBe(6);

    // Same document: the marker survived and no navigation happened.
    expect(await page.evaluate(() => (window as unknown as { marker?: string }).marker)).toBe('same document');
    expect(documentLoads).toBe(loadsBefore);
    expect(requested.length).toBeGreaterThan(0);
    expect(requested.filter((u) => !u.startsWith(`${sys.url}/`))).toEqual([]);
  });
});
