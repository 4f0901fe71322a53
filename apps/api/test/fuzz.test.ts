import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, TEST_ADMIN_KEY, TEST_API_KEY, type TestSystem } from '../../../test/support/start-system.ts';

// Issue 9, item 6: thousands of generated requests to every endpoint — bodies, queries, paths and headers — and not
// one answer ≥ 500; the server healthy after. Workers run on the fake server, so chat completions and event streams
// of accepted tasks come to an end.
let sys: TestSystem;
let taskId: string;
let batchId: string;
beforeAll(async () => {
  sys = await startSystem('fuzz');
  const t = await sys.call('/v1/tasks', { method: 'POST', json: { prompt: 'seed' } });
  taskId = ((await t.json()) as { id: string }).id;
  const b = await sys.call('/v1/batches', { method: 'POST', json: { tasks: [{ prompt: 'seed' }] } });
  batchId = ((await b.json()) as { id: string }).id;
});
afterAll(async () => sys?.close());

// ---- text: ordinary, JSON-breaking, NUL, lone surrogates, CJK, emoji, prototype names, very long ----
const oddChar = fc.oneof(
  fc.constantFrom('\u0000', '\ud800', '\udc00', '\uffff', '\u2028', '"', '\\', '{', '%', '\n', '😀', '字', 'ÿ'),
  fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
);
const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.array(oddChar, { maxLength: 30 }).map((a) => a.join('')) },
  { weight: 1, arbitrary: fc.constantFrom('constructor', '__proto__', 'toString', 'prototype', 'hasOwnProperty') },
  { weight: 1, arbitrary: fc.constantFrom('claude-test', 'gpt-test', 'gemini-test', 'llama-test') },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(' ', '\n', 'a', '字', '. '), fc.integer({ min: 1, max: 60_000 }))
      .map(([c, n]) => c.repeat(n)),
  },
);
const number = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -0, 1e308, -1e308, 2.01, 0.0004, 4_294_967_296, Number.MAX_SAFE_INTEGER + 2),
);
const leaf = fc.oneof(text, number, fc.boolean(), fc.constant(null));
const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(text, tie('value'), { maxKeys: 4 }),
})).value;

// ---- task-shaped bodies: each field absent, valid, or anything ----
const maybe = <T>(valid: fc.Arbitrary<T>) =>
  fc.option(fc.oneof({ weight: 2, arbitrary: valid as fc.Arbitrary<unknown> }, json), { nil: undefined });
const task = fc.record(
  {
    prompt: maybe(text),
    task_type: maybe(fc.constantFrom('code', 'research', 'analysis', 'creative', 'simple', 'long_context', 'poetry')),
    max_tokens: maybe(fc.integer({ min: -5, max: 300_000 })),
    context: maybe(text),
    fallback_chain: maybe(fc.array(text, { maxLength: 11 })),
    system: maybe(text),
    temperature: maybe(number),
    timeout: maybe(number),
    metadata: maybe(fc.dictionary(text, json, { maxKeys: 3 })),
    idempotency_key: maybe(text),
  },
  { requiredKeys: [] },
);
const batch = fc.record(
  {
    tasks: maybe(fc.array(fc.oneof(task, json), { maxLength: 5 })),
    name: maybe(text),
    idempotency_key: maybe(text),
  },
  { requiredKeys: [] },
);

/** A body as sent: JSON of a shaped value, any JSON, deep nesting, or bytes that are not JSON at all. */
const body = fc.oneof(
  { weight: 5, arbitrary: fc.oneof(task, batch).map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: json.map((v) => JSON.stringify(v) ?? 'null') },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('[', '{"a":'), fc.integer({ min: 1, max: 100_000 }))
      .map(([open, n]) => (open === '[' ? `${'['.repeat(n)}${']'.repeat(n)}` : `${open.repeat(n)}1${'}'.repeat(n)}`)),
  },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\u0000', '{"prompt":"x"', '\ufeff{"prompt":"bom"}', 'null') },
);

// ---- paths, queries, headers ----
/** encodeURIComponent, with a lone surrogate sent as its (invalid UTF-8) CESU-8 bytes instead of throwing. */
const encode = (s: string) =>
  Array.from(s)
    .map((ch) => {
      try {
        return encodeURIComponent(ch);
      } catch {
        return '%ED%A0%80';
      }
    })
    .join('');
const segment = fc.oneof(
  fc.uuid(),
  fc.constantFrom('__TASK__', '__BATCH__', '%', '%zz', '%E0%A4%A', '..', '%00', 'constructor', ''),
  text.map((s) => encode(s.slice(0, 50))),
);
const path = fc.oneof(
  fc.constantFrom('/v1/tasks', '/v1/batches', '/v1/budget', '/v1/costs/report', '/v1/costs/analysis', '/healthz'),
  fc.constantFrom('/v1/chat/completions', '/v1/models', '/v1/budget/keys', '/v1/tasks/__TASK__/events'),
  segment.map((x) => `/v1/budget/keys/${x}`),
  segment.map((s) => `/v1/tasks/${s}`),
  segment.map((s) => `/v1/batches/${s}`),
  segment.map((s) => `/v1/batches/${s}/results`),
  segment.map((s) => `/v1/batches/${s}/cancel`),
  fc.constantFrom('/dashboard', '/dashboard/', '/dashboard/api/recent-tasks', '/dashboard/api/v1/budget'),
  fc.constantFrom('/dashboard/api/v1/costs/report', '/dashboard/api/v1/costs/analysis', '/dashboard/api/v1/tasks'),
  fc.constantFrom('/admin/queues', '/admin/queues/api/queues', '/admin/queues/api/redis/stats'),
  fc
    .tuple(fc.constantFrom('{claude-test}', 'nope', '%7Bgpt-test%7D'), segment, fc.constantFrom('', '/logs', '/flow'))
    .map(([q, job, tail]) => `/admin/queues/api/queues/${q}/${job}${tail}`),
  fc.array(segment, { minLength: 1, maxLength: 4 }).map((a) => `/${a.join('/')}`),
);
const queryKey = fc.oneof(
  fc.constantFrom('wait', 'cursor', 'limit', 'from', 'to', 'group_by', 'baseline', 'activeQueue', 'status', 'page'),
  text.map((s) => s.slice(0, 10)),
);
const queryValue = fc.oneof(
  fc.constantFrom('1', '0', '-1', '120', '121', '1e3', 'NaN', 'Infinity', '2025-02-30', '2025-01-01', 'model'),
  fc.constantFrom('day', 'provider', 'constructor', '', '%', '%zz', 'a[b]'),
  text.map((s) => s.slice(0, 20)),
);
const query = fc
  .array(fc.tuple(queryKey, queryValue, fc.boolean()), { maxLength: 4 })
  .map((pairs) =>
    pairs.length === 0
      ? ''
      : `?${pairs.map(([k, v, raw]) => (raw ? `${k}=${v}` : `${encode(k)}=${encode(v)}`)).join('&')}`,
  );
const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) });
const auth = fc.oneof(
  { weight: 6, arbitrary: fc.constant(`Bearer ${TEST_API_KEY}`) },
  { weight: 2, arbitrary: fc.constant(`Bearer ${TEST_ADMIN_KEY}`) },
  { weight: 1, arbitrary: fc.constant(`Basic ${Buffer.from(`x:${TEST_ADMIN_KEY}`).toString('base64')}`) },
  { weight: 1, arbitrary: printable.map((s) => `Bearer ${s}`) },
  { weight: 1, arbitrary: printable.map((s) => `Basic ${s}`) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);
const contentType = fc.option(
  fc.oneof(
    fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/json; charset=utf-16'),
    fc.constantFrom('application/merge-patch+json', 'text/plain', 'application/x-www-form-urlencoded', 'json'),
    printable,
  ),
  { nil: undefined },
);
const encoding = fc.constantFrom(undefined, undefined, undefined, 'gzip', 'gzip-broken', 'deflate', 'br', 'zstd');

/** Anything: any method, path, query, body and headers. */
const anyRequest = fc.record({
  method: fc.constantFrom('GET', 'POST', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH'),
  path,
  query,
  body,
  auth,
  contentType,
  encoding,
});

/** OpenAI-shaped chat requests: roles, contents (a string or text parts), models, options — valid and not. */
const chatMessage = fc.record(
  {
    role: fc.oneof(fc.constantFrom('system', 'user', 'assistant', 'developer'), text),
    content: fc.oneof(
      text,
      fc.array(fc.record({ type: fc.constantFrom('text', 'image_url'), text }), { maxLength: 2 }),
      json,
    ),
    name: maybe(text),
  },
  { requiredKeys: ['role', 'content'] },
);
const chat = fc
  .record(
    {
      model: fc.oneof(fc.constantFrom('orchex/auto', 'orchex/code', 'gpt-test', 'claude-test', 'gpt-4', 'nope'), text),
      messages: fc.oneof(
        { weight: 3, arbitrary: fc.array(chatMessage, { minLength: 1, maxLength: 3 }) },
        { weight: 1, arbitrary: json },
      ),
      max_tokens: maybe(fc.integer({ min: -1, max: 5000 })),
      temperature: maybe(number),
      top_p: maybe(number),
      stop: maybe(fc.oneof(text, fc.array(text, { maxLength: 5 }))),
      stream: maybe(fc.boolean()),
      stream_options: maybe(fc.record({ include_usage: fc.boolean() })),
      n: maybe(fc.integer({ min: 0, max: 3 })),
      tools: fc.option(json, { nil: undefined, freq: 10 }),
      metadata: maybe(fc.dictionary(text, text, { maxKeys: 2 })),
    },
    { requiredKeys: ['model', 'messages'] },
  )
  .map((v) => JSON.stringify(v));

/** Aimed at a route as a client would call it (its method, a valid key, JSON), with generated contents. */
const mostlyClean = fc.oneof({ weight: 4, arbitrary: fc.string({ maxLength: 60 }) }, { weight: 1, arbitrary: text });
const okTask = fc
  .record(
    {
      prompt: text,
      task_type: fc.constantFrom('code', 'research', 'analysis', 'creative', 'simple', 'long_context'),
      max_tokens: fc.integer({ min: 1, max: 4000 }),
      context: mostlyClean,
      fallback_chain: fc.array(fc.constantFrom('claude-test', 'gpt-test', 'gemini-test', 'llama-test'), {
        minLength: 1,
        maxLength: 3,
      }),
      system: mostlyClean,
      temperature: fc.double({ min: 0, max: 2, noNaN: true }),
      timeout: fc.double({ min: 0.001, max: 3600, noNaN: true }),
      metadata: fc.dictionary(fc.string({ maxLength: 8 }), json, { maxKeys: 3 }),
      idempotency_key: mostlyClean,
    },
    { requiredKeys: ['prompt'] },
  )
  .map((t) => (t.prompt.trim() ? t : { ...t, prompt: `ok ${t.prompt}` }));
const validTask = fc.oneof({ weight: 3, arbitrary: okTask }, { weight: 1, arbitrary: task });
const aimed = fc
  .tuple(
    fc.oneof(
      fc.record({
        method: fc.constant('POST'),
        path: fc.constant('/v1/tasks'),
        body: validTask.map((v) => JSON.stringify(v)),
      }),
      fc.record({ method: fc.constant('POST'), path: fc.constant('/v1/tasks'), body }),
      fc.record({
        method: fc.constant('POST'),
        path: fc.constant('/v1/batches'),
        body: fc
          .record(
            {
              tasks: fc.array(
                okTask.map(({ idempotency_key: _k, ...t }) => t),
                { minLength: 1, maxLength: 4 },
              ),
              name: maybe(text),
              idempotency_key: maybe(text),
            },
            { requiredKeys: ['tasks'] },
          )
          .map((v) => JSON.stringify(v)),
      }),
      fc.record({ method: fc.constant('POST'), path: fc.constant('/v1/batches'), body }),
      fc.record({ method: fc.constant('GET'), path: segment.map((x) => `/v1/tasks/${x}`), body: fc.constant('') }),
      fc.record({
        method: fc.constant('GET'),
        path: fc.constantFrom('/v1/tasks/__TASK__', '/v1/batches/__BATCH__', '/v1/batches/__BATCH__/results'),
        body: fc.constant(''),
      }),
      fc.record({ method: fc.constant('POST'), path: fc.constant('/v1/batches/__BATCH__/cancel'), body }),
      fc.record({
        method: fc.constant('GET'),
        path: fc.constantFrom('/v1/costs/report', '/v1/costs/analysis', '/v1/budget', '/healthz'),
        body: fc.constant(''),
      }),
      fc.record({ method: fc.constant('POST'), path: fc.constant('/v1/chat/completions'), body: chat }),
      fc.record({ method: fc.constant('POST'), path: fc.constant('/v1/chat/completions'), body }),
      fc.record({
        method: fc.constant('GET'),
        path: fc.constantFrom('/v1/models', '/v1/tasks/__TASK__/events'),
        body: fc.constant(''),
      }),
      fc.record({
        method: fc.constant('PUT'),
        path: fc.constant('/v1/budget'),
        body: fc.oneof(
          body,
          fc.record({ max_daily_cost: fc.oneof(number, fc.constant(null), json) }).map((v) => JSON.stringify(v)),
        ),
      }),
    ),
    query,
    fc.constantFrom(`Bearer ${TEST_API_KEY}`, `Bearer ${TEST_ADMIN_KEY}`),
    fc.constantFrom('application/json', 'application/json; charset=utf-8'),
  )
  .map(([r, q, a, ct]) => ({ ...r, query: q, auth: a, contentType: ct, encoding: undefined as string | undefined }));

const request = fc.oneof({ weight: 2, arbitrary: aimed }, { weight: 1, arbitrary: anyRequest });

describe('fuzz: every endpoint, generated requests', () => {
  it('never answers 500 or more, and the server stays healthy', async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const url = `${sys.url}${r.path.replace('__TASK__', taskId).replace('__BATCH__', batchId)}${r.query}`;
        const headers: Record<string, string> = {};
        if (r.auth !== undefined) headers.authorization = r.auth;
        if (r.contentType !== undefined) headers['content-type'] = r.contentType;
        let payload: string | Uint8Array<ArrayBuffer> | undefined = ['GET', 'DELETE'].includes(r.method)
          ? undefined
          : r.body;
        if (payload !== undefined && r.encoding) {
          headers['content-encoding'] = r.encoding === 'gzip-broken' ? 'gzip' : r.encoding;
          if (r.encoding === 'gzip') payload = new Uint8Array(gzipSync(payload));
        }
        let res: Response;
        try {
          // A bound on each request: an event stream runs until its task ends.
          res = await fetch(url, { method: r.method, headers, body: payload, signal: AbortSignal.timeout(20_000) });
        } catch (err) {
          // The client itself refused the request (an URL or header fetch will not send): nothing reached the API.
          if (err instanceof TypeError && !String(err.cause ?? '').includes('ECONNRESET')) return;
          throw err;
        }
        // Streams (SSE) answer their status at once; their bodies are not what is checked here.
        const streaming = res.headers.get('content-type')?.startsWith('text/event-stream');
        const text = streaming ? '' : await res.text();
        if (streaming) await res.body?.cancel();
        seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
        expect(res.status, `${r.method} ${url} → ${res.status} ${text.slice(0, 300)}`).toBeLessThan(500);
      }),
      { numRuns: 3000, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31), endOnFailure: true },
    );
    console.log(
      `statuses: ${[...seen]
        .sort(([a], [b]) => a - b)
        .map(([s, n]) => `${s}×${n}`)
        .join(' ')}`,
    );
    // Most requests were refused (4xx), but every kind of answer was exercised.
    expect(seen.get(202) ?? 0).toBeGreaterThan(0);
    expect([...seen.keys()].some((s) => s >= 400 && s < 500)).toBe(true);

    expect((await fetch(`${sys.url}/healthz`)).status).toBe(200);
    const ok = await sys.call('/v1/tasks', { method: 'POST', json: { prompt: 'still alive' } });
    expect(ok.status).toBe(202);
  }, 600_000);
});
