import { taskInputSchema } from '@orchex/core';
import { z } from 'zod';
import { resultsQuery } from '../batch-routes.ts';
import { putBody as budgetBody, keyIdParam } from '../budget-routes.ts';
import { analysisQuery, reportQuery } from '../cost-routes.ts';
import { chatRequestSchema } from '../openai/chat-request.ts';
import { batchBody } from '../plan-batch.ts';
import { getQuery } from '../task-routes.ts';
import * as out from './response-schemas.ts';

type JsonSchema = Record<string, unknown>;
type Auth = 'client' | 'admin' | 'metrics' | 'admin-page' | 'none';

/** One documented response: a zod schema (JSON) or another media type. */
interface Answer {
  description: string;
  schema?: z.ZodType;
  /** Default application/json. */
  type?: string;
  headers?: Record<string, { description: string; schema: JsonSchema }>;
}

/** One route as documented: everything in it comes from the schemas the route itself validates with. */
interface Operation {
  method: 'get' | 'post' | 'put';
  path: string;
  summary: string;
  tag: string;
  auth: Auth;
  path_params?: Record<string, z.ZodType>;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** OpenAI's error shape instead of orchex's. */
  openai?: boolean;
  /** Successful answers by status. */
  ok: Record<string, Answer>;
  /** Error statuses besides the auth ones (401/403/404 disabled), which follow from `auth`. */
  errors: number[];
}

const json = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
  }) as JsonSchema;
  return rest;
};

const taskId = { id: z.uuid().describe('task id') };
const batchId = { id: z.uuid().describe('batch id') };

/** A batch's tasks are each a task as POST /v1/tasks takes it (without idempotency_key). */
const batchRequest = batchBody.extend({ tasks: z.array(taskInputSchema).min(1).max(10_000) });

const OPERATIONS: Operation[] = [
  {
    method: 'get',
    path: '/healthz',
    summary: 'Health: whether Redis and Postgres answer',
    tag: 'operations',
    auth: 'none',
    ok: {
      200: { description: 'both answer', schema: out.healthSchema },
      503: {
        description: 'one is unavailable (named)',
        schema: out.healthSchema,
        headers: { 'Retry-After': { description: 'seconds', schema: { type: 'integer' } } },
      },
    },
    errors: [],
  },
  {
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics of this API process and of the shared queues, limits and budget',
    tag: 'operations',
    auth: 'metrics',
    ok: { 200: { description: 'Prometheus text exposition 0.0.4', type: 'text/plain' } },
    errors: [],
  },
  {
    method: 'post',
    path: '/v1/tasks',
    summary: 'Submit a task (routed, budgeted, run as a durable job)',
    tag: 'tasks',
    auth: 'client',
    body: taskInputSchema,
    ok: {
      202: { description: 'accepted: read it at Location', schema: out.taskAcceptedSchema },
      200: { description: 'the same idempotency_key again: the task it created', schema: out.taskSchema },
    },
    errors: [400, 409, 413, 415, 422, 503],
  },
  {
    method: 'get',
    path: '/v1/tasks/{id}',
    summary: "A task's record; with ?wait=N waits up to N seconds for it to end",
    tag: 'tasks',
    auth: 'client',
    path_params: taskId,
    query: getQuery,
    ok: { 200: { description: 'the task', schema: out.taskSchema } },
    errors: [400, 404, 503],
  },
  {
    method: 'get',
    path: '/v1/tasks/{id}/events',
    summary: 'Server-Sent Events of a task: status, delta, attempt-failed, end (resume with Last-Event-ID)',
    tag: 'tasks',
    auth: 'client',
    path_params: taskId,
    ok: { 200: { description: 'an event stream', type: 'text/event-stream' } },
    errors: [400, 404, 503],
  },
  {
    method: 'post',
    path: '/v1/batches',
    summary: 'Submit up to 10,000 tasks at once (all or nothing)',
    tag: 'batches',
    auth: 'client',
    body: batchRequest,
    ok: {
      202: { description: 'accepted', schema: out.batchAcceptedSchema },
      200: { description: 'the same idempotency_key again', schema: out.batchAcceptedSchema },
    },
    errors: [400, 409, 413, 415, 422, 503],
  },
  {
    method: 'post',
    path: '/v1/estimate',
    summary: "A task's or a batch's plan and cost, planned as a submit would plan it; nothing stored or run",
    tag: 'tasks',
    auth: 'client',
    body: z.union([taskInputSchema, batchRequest]),
    ok: {
      200: { description: 'plans, expected and worst-case cost per model, budget left', schema: out.estimateSchema },
    },
    errors: [400, 413, 415, 422, 503],
  },
  {
    method: 'get',
    path: '/v1/batches/{id}',
    summary: "A batch's progress and cost",
    tag: 'batches',
    auth: 'client',
    path_params: batchId,
    ok: { 200: { description: 'the batch', schema: out.batchSchema } },
    errors: [400, 404, 503],
  },
  {
    method: 'get',
    path: '/v1/batches/{id}/results',
    summary: "A page of a batch's tasks, in submission order",
    tag: 'batches',
    auth: 'client',
    path_params: batchId,
    query: resultsQuery,
    ok: { 200: { description: 'a page', schema: out.batchResultsSchema } },
    errors: [400, 404, 503],
  },
  {
    method: 'post',
    path: '/v1/batches/{id}/cancel',
    summary: "Cancel a batch's queued tasks",
    tag: 'batches',
    auth: 'client',
    path_params: batchId,
    ok: { 200: { description: 'how many tasks were cancelled', schema: out.batchCancelledSchema } },
    errors: [400, 404, 503],
  },
  {
    method: 'get',
    path: '/v1/costs/report',
    summary: 'Cost and requests by model, task type, provider or day (the caller’s key; the admin key sees all)',
    tag: 'costs',
    auth: 'client',
    query: reportQuery,
    ok: {
      200: {
        description:
          'the report; with group_by=variant, the A/B report (tasks, failures, cost, calls, tokens, latency per arm)',
        schema: z.union([out.costReportSchema, out.variantReportSchema]),
      },
    },
    errors: [400, 503],
  },
  {
    method: 'get',
    path: '/v1/costs/analysis',
    summary: 'Savings against a baseline model and an optimization score',
    tag: 'costs',
    auth: 'client',
    query: analysisQuery,
    ok: { 200: { description: 'the analysis', schema: out.costAnalysisSchema } },
    errors: [400, 503],
  },
  {
    method: 'get',
    path: '/v1/budget',
    summary: "Today's budget: the global one (admin key) or the caller's key's",
    tag: 'budget',
    auth: 'client',
    ok: { 200: { description: 'the budget', schema: out.budgetSchema } },
    errors: [503],
  },
  {
    method: 'put',
    path: '/v1/budget',
    summary: 'Set the daily budget: global (admin key) or the caller’s own, up to the admin’s cap',
    tag: 'budget',
    auth: 'client',
    body: budgetBody,
    ok: { 200: { description: 'the budget now', schema: out.budgetSchema } },
    errors: [400, 403, 503],
  },
  {
    method: 'get',
    path: '/v1/budget/keys',
    summary: "Every configured key's budget (admin key)",
    tag: 'budget',
    auth: 'client',
    ok: { 200: { description: 'by key id', schema: out.keyBudgetsSchema } },
    errors: [403, 503],
  },
  {
    method: 'put',
    path: '/v1/budget/keys/{keyId}',
    summary: "Cap a key's daily budget (admin key)",
    tag: 'budget',
    auth: 'client',
    path_params: { keyId: keyIdParam },
    body: budgetBody,
    ok: { 200: { description: "the key's budget now", schema: out.keyBudgetSchema } },
    errors: [400, 403, 503],
  },
  {
    method: 'get',
    path: '/v1/models',
    summary: 'OpenAI-compatible model list, with each model’s live limit state under orchex.limits',
    tag: 'openai',
    auth: 'client',
    openai: true,
    ok: { 200: { description: 'the list', schema: out.modelListSchema } },
    errors: [],
  },
  {
    method: 'post',
    path: '/v1/chat/completions',
    summary: 'OpenAI-compatible chat completion, run as a durable task',
    tag: 'openai',
    auth: 'client',
    openai: true,
    body: chatRequestSchema,
    ok: {
      200: {
        description: 'the completion (or, with stream: true, chat.completion.chunk events)',
        schema: out.chatCompletionSchema,
      },
    },
    errors: [400, 404, 413, 429, 502, 503],
  },
  {
    method: 'get',
    path: '/openapi.json',
    summary: 'This document',
    tag: 'operations',
    auth: 'none',
    ok: { 200: { description: 'OpenAPI 3.1' } },
    errors: [],
  },
  {
    method: 'get',
    path: '/docs',
    summary: 'The API reference page over this document',
    tag: 'operations',
    auth: 'none',
    ok: { 200: { description: 'HTML', type: 'text/html' } },
    errors: [],
  },
  {
    method: 'get',
    path: '/dashboard',
    summary: 'The live cost dashboard (a page; its data comes from the /v1 routes)',
    tag: 'admin',
    auth: 'admin-page',
    ok: { 200: { description: 'HTML', type: 'text/html' } },
    errors: [],
  },
  {
    method: 'get',
    path: '/admin/queues',
    summary: 'Bull Board over every model queue',
    tag: 'admin',
    auth: 'admin-page',
    ok: { 200: { description: 'HTML', type: 'text/html' } },
    errors: [],
  },
];

const ERROR_TEXT: Record<number, string> = {
  400: 'invalid input: `fields` names each bad field',
  401: 'no key, or not one that opens this route',
  403: 'the key may not do this',
  404: 'not found (or, for admin surfaces and metrics, disabled because no admin key or token is configured)',
  409: 'idempotency_key reused with a different request',
  413: 'body too large',
  415: 'body is not UTF-8 JSON',
  422: 'valid, but the task cannot run (too large for every model, or over max_per_request)',
  429: 'over a budget',
  502: 'every model of the plan failed',
  503: 'Postgres or Redis is unavailable (named); retry after Retry-After',
};

const SECURITY: Record<Auth, Array<Record<string, string[]>>> = {
  client: [{ apiKey: [] }],
  admin: [{ adminKey: [] }],
  metrics: [{ metricsToken: [] }, { adminKey: [] }],
  'admin-page': [{ adminKey: [] }, { adminBasic: [] }],
  none: [],
};

function statusesOf(op: Operation): number[] {
  const auth = op.auth === 'none' ? [] : op.auth === 'client' ? [401] : [401, 404];
  return [...new Set([...auth, ...op.errors])].sort();
}

function operation(op: Operation) {
  const errorRef = op.openai ? '#/components/schemas/OpenAIError' : '#/components/schemas/Error';
  const responses: Record<string, unknown> = {};
  for (const [status, a] of Object.entries(op.ok)) {
    responses[status] = {
      description: a.description,
      ...(a.headers ? { headers: a.headers } : {}),
      content: { [a.type ?? 'application/json']: { schema: a.schema ? json(a.schema, 'output') : {} } },
    };
  }
  for (const status of statusesOf(op)) {
    responses[String(status)] = {
      description: ERROR_TEXT[status] ?? 'error',
      ...(status === 503
        ? { headers: { 'Retry-After': { description: 'seconds', schema: { type: 'integer' } } } }
        : {}),
      content: { 'application/json': { schema: { $ref: errorRef } } },
    };
  }
  const parameters = [
    ...Object.entries(op.path_params ?? {}).map(([name, s]) => ({
      name,
      in: 'path',
      required: true,
      schema: json(s, 'input'),
    })),
    ...Object.entries(op.query?.shape ?? {}).map(([name, s]) => ({
      name,
      in: 'query',
      required: !(s as z.ZodType).safeParse(undefined).success,
      schema: json(s as z.ZodType, 'input'),
    })),
  ];
  return {
    operationId: `${op.method}${op.path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string) => (c ?? '').toUpperCase())}`,
    summary: op.summary,
    tags: [op.tag],
    security: SECURITY[op.auth],
    ...(parameters.length ? { parameters } : {}),
    ...(op.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: json(op.body, 'input') } } } }
      : {}),
    responses,
  };
}

/**
 * The OpenAPI 3.1 document of the API, generated from the zod schemas its routes validate requests with and the
 * ones its answers are checked against (response-schemas.ts). Built once per process: it does not depend on the
 * config.
 */
export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) {
    paths[op.path] ??= {};
    (paths[op.path] as Record<string, unknown>)[op.method] = operation(op);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'orchex',
      version: '0.1.0',
      description:
        'Multi-model AI task orchestration as durable jobs. Every /v1 route needs `Authorization: Bearer <key>` ' +
        '(a client key from ORCHEX_API_KEYS, or the admin key, which sees everything).',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    tags: ['tasks', 'batches', 'costs', 'budget', 'openai', 'operations', 'admin'].map((name) => ({ name })),
    paths,
    components: {
      schemas: { Error: json(out.errorSchema, 'output'), OpenAIError: json(out.openAiErrorSchema, 'output') },
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'a client key (ORCHEX_API_KEYS) or the admin key' },
        adminKey: { type: 'http', scheme: 'bearer', description: 'ORCHEX_ADMIN_KEY' },
        adminBasic: { type: 'http', scheme: 'basic', description: 'any user name, ORCHEX_ADMIN_KEY as the password' },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'ORCHEX_METRICS_TOKEN (opens /metrics only)' },
      },
    },
  };
}

/** Every documented route, for tests that call each one. */
export const DOCUMENTED_ROUTES = OPERATIONS.map((o) => ({ method: o.method, path: o.path }));
