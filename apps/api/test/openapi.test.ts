import { validate } from '@readme/openapi-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../../../test/support/headless-browser.ts';
import {
  OTHER_API_KEY,
  startSystem,
  TEST_ADMIN_KEY,
  TEST_API_KEY,
  type TestSystem,
} from '../../../test/support/start-system.ts';
import { DOCUMENTED_ROUTES } from '../src/openapi/openapi-document.ts';

type Doc = {
  openapi: string;
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>
  >;
  components: { schemas: Record<string, object> };
};

let sys: TestSystem;
let doc: Doc;
let browser: Browser | undefined;
const ajv = new Ajv2020({ strict: false, allErrors: true });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
/** Which documented routes the conformance cases called (every one must be). */
const called = new Set<string>();

/** The schema the document gives for this answer, its top-level $ref resolved. */
function documented(method: string, template: string, status: number, type: string): object {
  const answer = doc.paths[template]?.[method]?.responses[String(status)];
  if (!answer) throw new Error(`${method.toUpperCase()} ${template} documents no ${status}`);
  const schema = answer.content?.[type]?.schema as { $ref?: string } | undefined;
  if (!schema) throw new Error(`${method.toUpperCase()} ${template} ${status} documents no ${type}`);
  return schema.$ref ? (doc.components.schemas[schema.$ref.split('/').pop() ?? ''] as object) : schema;
}

/** Calls a route and checks its answer against the document: status documented, body valid against its schema. */
async function conforms(
  method: 'get' | 'post' | 'put',
  template: string,
  url: string,
  opts: { key?: string | null; json?: unknown; status: number },
): Promise<unknown> {
  const res = await sys.call(url, {
    method: method.toUpperCase(),
    key: opts.key === undefined ? TEST_API_KEY : opts.key,
    ...(opts.json === undefined ? {} : { json: opts.json }),
  });
  expect(res.status, `${method} ${url}`).toBe(opts.status);
  called.add(`${method} ${template}`);
  const type = (res.headers.get('content-type') ?? '').split(';')[0] ?? '';
  const schema = documented(method, template, res.status, type);
  if (type !== 'application/json') return undefined;
  const body = await res.json();
  const check = ajv.compile(schema);
  expect(check(body) ? [] : check.errors, `${method} ${url} → ${res.status}`).toEqual([]);
  return body;
}

beforeAll(async () => {
  sys = await startSystem('openapi');
  const res = await fetch(`${sys.url}/openapi.json`);
  expect(res.status).toBe(200);
  doc = (await res.json()) as Doc;
});
afterAll(async () => {
  await browser?.close();
  await sys?.close();
});

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document (validated by @readme/openapi-parser)', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid ? [] : result.errors).toEqual([]);
    expect(result.valid).toBe(true);
    // The validator does reject a broken document (a response without its required description).
    const broken = structuredClone(doc) as unknown as {
      paths: Record<string, Record<string, { responses: Record<string, object> }>>;
    };
    broken.paths['/v1/tasks']!.post!.responses['202'] = { content: {} };
    expect((await validate(broken as never)).valid).toBe(false);
  });

  it('documents request bodies from the validating zod schemas, with auth and errors', () => {
    const post = doc.paths['/v1/tasks']?.post as unknown as {
      requestBody: { content: { 'application/json': { schema: { properties: Record<string, unknown> } } } };
      security: unknown[];
      responses: Record<string, unknown>;
    };
    const props = post.requestBody.content['application/json'].schema.properties;
    expect(Object.keys(props)).toEqual(expect.arrayContaining(['prompt', 'messages', 'max_tokens', 'fallback_chain']));
    expect(props.max_tokens).toMatchObject({ type: 'integer', minimum: 1, default: 1024 });
    expect(post.security).toEqual([{ apiKey: [] }]);
    expect(Object.keys(post.responses)).toEqual(
      expect.arrayContaining(['202', '400', '401', '409', '413', '422', '503']),
    );
  });
});

describe('real answers match the document', () => {
  it('every route, its successes and its errors', async () => {
    const idle = '00000000-0000-4000-8000-000000000000';
    await conforms('get', '/healthz', '/healthz', { key: null, status: 200 });
    await conforms('get', '/openapi.json', '/openapi.json', { key: null, status: 200 });
    await conforms('get', '/metrics', '/metrics', { key: TEST_ADMIN_KEY, status: 200 });
    await conforms('get', '/metrics', '/metrics', { key: TEST_API_KEY, status: 401 });

    // Tasks: accepted, read (waiting for the end), replayed by idempotency key, and refused.
    const body = { prompt: 'Say hi', fallback_chain: ['gpt-test'], max_tokens: 50, idempotency_key: 'oa-1' };
    const accepted = (await conforms('post', '/v1/tasks', '/v1/tasks', { json: body, status: 202 })) as { id: string };
    await conforms('get', '/v1/tasks/{id}', `/v1/tasks/${accepted.id}?wait=30`, { status: 200 });
    await conforms('post', '/v1/tasks', '/v1/tasks', { json: body, status: 200 });
    await conforms('post', '/v1/tasks', '/v1/tasks', { json: { ...body, prompt: 'other' }, status: 409 });
    await conforms('post', '/v1/tasks', '/v1/tasks', { json: { prompt: 'x', max_tokens: -1 }, status: 400 });
    await conforms('post', '/v1/tasks', '/v1/tasks', { json: { prompt: 'x' }, key: null, status: 401 });
    await conforms('get', '/v1/tasks/{id}', `/v1/tasks/${idle}`, { status: 404 });
    await conforms('get', '/v1/tasks/{id}', '/v1/tasks/not-a-uuid', { status: 400 });
    await conforms('get', '/v1/tasks/{id}/events', `/v1/tasks/${idle}/events`, { status: 404 });
    const events = await sys.call(`/v1/tasks/${accepted.id}/events`);
    expect(events.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(documented('get', '/v1/tasks/{id}/events', 200, 'text/event-stream')).toBeDefined();
    expect(await events.text()).toContain('event: end');
    called.add('get /v1/tasks/{id}/events');

    // Batches.
    const batch = (await conforms('post', '/v1/batches', '/v1/batches', {
      json: {
        tasks: [
          { prompt: 'one', fallback_chain: ['gpt-test'] },
          { prompt: 'two', fallback_chain: ['gpt-test'] },
        ],
      },
      status: 202,
    })) as { id: string };
    await conforms('post', '/v1/batches', '/v1/batches', { json: { tasks: [] }, status: 400 });
    await expect
      .poll(async () => ((await (await sys.call(`/v1/batches/${batch.id}`)).json()) as { status: string }).status, {
        timeout: 30_000,
      })
      .toBe('completed');
    await conforms('get', '/v1/batches/{id}', `/v1/batches/${batch.id}`, { status: 200 });
    await conforms('get', '/v1/batches/{id}', `/v1/batches/${idle}`, { status: 404 });
    await conforms('get', '/v1/batches/{id}/results', `/v1/batches/${batch.id}/results?limit=1`, { status: 200 });
    await conforms('get', '/v1/batches/{id}/results', `/v1/batches/${batch.id}/results?limit=0`, { status: 400 });
    await conforms('post', '/v1/batches/{id}/cancel', `/v1/batches/${batch.id}/cancel`, { status: 200 });

    // Costs and budget.
    await conforms('get', '/v1/costs/report', '/v1/costs/report?group_by=day', { status: 200 });
    await conforms('get', '/v1/costs/report', '/v1/costs/report?group_by=variant', { status: 200 });
    await conforms('get', '/v1/costs/report', '/v1/costs/report?group_by=nope', { status: 400 });
    await conforms('post', '/v1/estimate', '/v1/estimate', { json: { prompt: 'x', strategy: 'cost' }, status: 200 });
    await conforms('post', '/v1/estimate', '/v1/estimate', { json: { tasks: [{ prompt: 'x' }] }, status: 200 });
    await conforms('post', '/v1/estimate', '/v1/estimate', { json: { prompt: 'x', strategy: 'fast' }, status: 400 });
    await conforms('get', '/v1/costs/analysis', '/v1/costs/analysis', { status: 200 });
    await conforms('get', '/v1/budget', '/v1/budget', { status: 200 });
    await conforms('get', '/v1/budget', '/v1/budget', { key: TEST_ADMIN_KEY, status: 200 });
    await conforms('put', '/v1/budget', '/v1/budget', {
      key: TEST_ADMIN_KEY,
      json: { max_daily_cost: 50 },
      status: 200,
    });
    await conforms('put', '/v1/budget', '/v1/budget', { json: { max_daily_cost: 'lots' }, status: 400 });
    const keys = (await conforms('get', '/v1/budget/keys', '/v1/budget/keys', {
      key: TEST_ADMIN_KEY,
      status: 200,
    })) as {
      keys: Array<{ key_id: string; key_hint: string }>;
    };
    await conforms('get', '/v1/budget/keys', '/v1/budget/keys', { status: 403 });
    const other = keys.keys.find((k) => k.key_hint.endsWith(OTHER_API_KEY.slice(-4)));
    await conforms('put', '/v1/budget/keys/{keyId}', `/v1/budget/keys/${other?.key_id}`, {
      key: TEST_ADMIN_KEY,
      json: { max_daily_cost: 5 },
      status: 200,
    });
    await conforms('put', '/v1/budget/keys/{keyId}', '/v1/budget/keys/nope', {
      key: TEST_ADMIN_KEY,
      json: { max_daily_cost: 5 },
      status: 400,
    });

    // OpenAI-compatible routes, in OpenAI's error shape.
    await conforms('get', '/v1/models', '/v1/models', { status: 200 });
    const chat = { model: 'gpt-test', messages: [{ role: 'user', content: 'Hi' }] };
    await conforms('post', '/v1/chat/completions', '/v1/chat/completions', { json: chat, status: 200 });
    await conforms('post', '/v1/chat/completions', '/v1/chat/completions', {
      json: { ...chat, messages: [] },
      status: 400,
    });
    await conforms('post', '/v1/chat/completions', '/v1/chat/completions', {
      json: { ...chat, model: 'no-such-model' },
      status: 404,
    });

    // Pages: the reference, the dashboard and Bull Board (admin).
    await conforms('get', '/docs', '/docs', { key: null, status: 200 });
    await conforms('get', '/dashboard', '/dashboard', { key: TEST_ADMIN_KEY, status: 200 });
    await conforms('get', '/dashboard', '/dashboard', { key: null, status: 401 });
    await conforms('get', '/admin/queues', '/admin/queues', { key: TEST_ADMIN_KEY, status: 200 });

    expect([...called].sort()).toEqual(DOCUMENTED_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
  });
});

describe('GET /docs', () => {
  it('renders the reference in headless Chromium from this origin only', async () => {
    browser = await launchBrowser();
    const page = await browser.newPage();
    const requested: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    await page.goto(`${sys.url}/docs`);
    // Swagger UI draws one block per operation once it loaded /openapi.json.
    await expect.poll(() => page.locator('.opblock').count(), { timeout: 20_000 }).toBe(DOCUMENTED_ROUTES.length);
    expect(await page.locator('.info .title').textContent()).toContain('orchex');
    expect(await page.locator('.opblock-summary-path').allTextContents()).toContain('/v1/tasks/{id}');
    expect(requested.some((u) => u.endsWith('/openapi.json'))).toBe(true);
    expect(requested.filter((u) => !u.startsWith(`${sys.url}/`) && !u.startsWith('data:'))).toEqual([]);
  });
});
