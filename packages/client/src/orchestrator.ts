import {
  ApiError,
  BudgetExceededError,
  ConnectionError,
  type FieldIssue,
  OrchexError,
  taskError,
  ValidationError,
} from './errors.ts';
import { readSse } from './read-sse.ts';
import type {
  Attempt,
  BatchInfo,
  BatchProgress,
  BatchResultsPage,
  Budget,
  CostAnalysis,
  CostReport,
  Estimate,
  Health,
  StreamEvent,
  SubmittedTask,
  Task,
  TaskInfo,
  TaskOutcome,
  TaskResult,
  VariantReport,
} from './types.ts';
import { camelKeys, taskFromWire, taskToWire } from './wire.ts';

/** The API's URL when neither `baseUrl` nor ORCHEX_URL is given. */
export const DEFAULT_BASE_URL = 'http://127.0.0.1:3000';

/** How to reach orchex. */
export interface OrchestratorOptions {
  /** The API's base URL (without `/v1`). Default: ORCHEX_URL from the environment, else {@link DEFAULT_BASE_URL}. */
  baseUrl?: string;
  /** One of the server's ORCHEX_API_KEYS (or its admin key). Default: ORCHEX_API_KEY from the environment. */
  apiKey?: string;
  /** How often batch progress is polled. Default 1000 ms. */
  pollIntervalMs?: number;
  /** Longest server-side wait of one `GET /v1/tasks/:id?wait=` request; execute() repeats it. Default 30 s (max 120). */
  waitSeconds?: number;
  /** Tasks in flight at once in executeParallel. Default 8. */
  concurrency?: number;
  /** The fetch to use. Default `globalThis.fetch`. */
  fetch?: typeof fetch;
}

/** Options of executeBatch. */
export interface ExecuteBatchOptions {
  /** Called after every poll of the batch's progress. */
  onProgress?: (progress: BatchProgress) => void;
  /** Shown in the batch's record. */
  name?: string;
  /** The same key returns the first batch instead of submitting another (safe retries of a whole run). */
  idempotencyKey?: string;
}

/** Options of getCostReport. Dates are `YYYY-MM-DD` (UTC days); default the last 30 days. */
export interface CostReportOptions {
  from?: string;
  to?: string;
  /** Default `model`. (A/B variants: getVariantReport.) */
  groupBy?: 'model' | 'task_type' | 'day' | 'provider';
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

/**
 * An orchex variable from `process.env` where there is one (Node, Bun, Deno); undefined in a browser. Read through
 * globalThis so the client neither needs Node's types nor fails where `process` does not exist.
 */
function fromEnv(name: 'ORCHEX_URL' | 'ORCHEX_API_KEY'): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.[name]?.trim() || undefined;
}
/** GETs are retried through brief outages (an API restart); POSTs are not, so nothing is submitted twice. */
const GET_RETRIES = 4;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The seed's `Orchestrator`, over the orchex HTTP API: tasks run on the server's workers, this object only submits
 * and waits. Every method throws an OrchexError subclass: ValidationError (400/422, with `fields`),
 * TaskFailedError (with the attempts) or BudgetExceededError for tasks that ended without a result, ApiError for
 * other statuses and ConnectionError when the API cannot be reached.
 */
export class Orchestrator {
  readonly baseUrl: string;
  readonly #apiKey: string;
  readonly #fetch: typeof fetch;
  readonly pollIntervalMs: number;
  readonly waitSeconds: number;
  readonly concurrency: number;

  /**
   * `new Orchestrator()` (the seed's form) reads ORCHEX_URL and ORCHEX_API_KEY from the environment; in a browser,
   * pass `baseUrl` and `apiKey`. Throws an OrchexError when no API key is given either way.
   */
  constructor(options: OrchestratorOptions = {}) {
    const apiKey = options.apiKey ?? fromEnv('ORCHEX_API_KEY');
    if (!apiKey) {
      throw new OrchexError(
        "no API key: pass new Orchestrator({ apiKey }) or set ORCHEX_API_KEY (one of the server's ORCHEX_API_KEYS)",
      );
    }
    this.baseUrl = (options.baseUrl ?? fromEnv('ORCHEX_URL') ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    this.#apiKey = apiKey;
    const custom = options.fetch;
    // Called as a plain function, never as a method of this object: browsers refuse a fetch invoked on anything but
    // the window ("Illegal invocation").
    this.#fetch = (input, init) => (custom ?? globalThis.fetch)(input, init);
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.waitSeconds = Math.min(120, options.waitSeconds ?? 30);
    this.concurrency = Math.max(1, options.concurrency ?? 8);
  }

  /** Submits a task and waits for its result; throws TaskFailedError/BudgetExceededError when it fails. */
  async execute(task: Task): Promise<TaskResult> {
    const t = await this.#run(task);
    if (t.status === 'succeeded') return resultOf(t);
    throw errorOf(t);
  }

  /**
   * Runs tasks concurrently (at most `concurrency` in flight) and returns one outcome per task in input order; a
   * task that fails does not fail the others, its outcome carries `error` instead of content.
   */
  async executeParallel(tasks: Task[], options: { concurrency?: number } = {}): Promise<TaskOutcome[]> {
    const out = new Array<TaskOutcome>(tasks.length);
    let next = 0;
    const lane = async () => {
      for (let i = next++; i < tasks.length; i = next++) {
        try {
          const t = await this.#run(tasks[i] as Task);
          out[i] = t.status === 'succeeded' ? resultOf(t) : failedOutcome(errorOf(t), t);
        } catch (err) {
          out[i] = failedOutcome(err as Error);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(tasks.length, options.concurrency ?? this.concurrency) }, lane));
    return out;
  }

  async #run(task: Task): Promise<TaskInfo> {
    const { id } = await this.submit(task);
    return this.waitForTask(id);
  }

  /**
   * Submits the tasks as one batch (`POST /v1/batches`, up to 10,000), reports progress until every task is done,
   * then returns one outcome per task in input order; failed tasks carry `error` (with their attempts loaded).
   * An invalid task rejects the whole batch with a ValidationError naming `tasks.<index>.<field>`.
   */
  async executeBatch(tasks: Task[], options: ExecuteBatchOptions = {}): Promise<TaskOutcome[]> {
    const { id } = await this.submitBatch(tasks, options);
    await this.waitForBatch(id, options.onProgress);
    const out: TaskOutcome[] = [];
    const failed: number[] = [];
    for await (const t of this.batchResults(id)) {
      if (t.status === 'failed') failed.push(out.length);
      out.push(t.status === 'succeeded' ? resultOf(t) : failedOutcome(errorOf(t), t));
    }
    // Failures should be few: load their attempts so each error says what was tried, as execute() does.
    let next = 0;
    const lane = async () => {
      for (let k = next++; k < failed.length; k = next++) {
        const i = failed[k] as number;
        const t = await this.getTask(out[i]?.id as string);
        out[i] = failedOutcome(errorOf(t), t);
      }
    };
    await Promise.all(Array.from({ length: Math.min(failed.length, this.concurrency) }, lane));
    return out;
  }

  /**
   * Submits a task with `stream: true` and yields its answer as the model writes it (`GET /v1/tasks/:id/events`),
   * then its final record. Unlike an OpenAI stream, the task itself never breaks: when a model fails after some text,
   * an `attempt-failed` event says so and the fallback's answer follows; the `end` event carries the answer that
   * counts. A dropped connection is resumed from the last event.
   */
  async *stream(task: Task): AsyncGenerator<StreamEvent> {
    const { id } = await this.#request<{ id: string }>('POST', '/v1/tasks', { ...taskToWire(task), stream: true });
    let lastId: string | undefined;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await this.#fetch(`${this.baseUrl}/v1/tasks/${encodeURIComponent(id)}/events`, {
          headers: {
            authorization: `Bearer ${this.#apiKey}`,
            accept: 'text/event-stream',
            ...(lastId ? { 'last-event-id': lastId } : {}),
          },
        });
      } catch (err) {
        if (attempt < GET_RETRIES) {
          await sleep(250 * 2 ** attempt);
          continue;
        }
        throw new ConnectionError(this.baseUrl, err);
      }
      if (!res.ok || !res.body) throw apiError(res.status, await res.text());
      for await (const event of readSse(res.body)) {
        if (event.id) lastId = event.id;
        const data = JSON.parse(event.data) as Record<string, unknown>;
        if (event.event === 'delta')
          yield { type: 'delta', text: String(data.text), attempt: Number(data.attempt), model: String(data.model) };
        else if (event.event === 'attempt-failed') {
          yield {
            type: 'attempt-failed',
            attempt: Number(data.attempt),
            model: String(data.model),
            afterOutput: data.after_output === true,
            errorKind: String(data.error_kind),
          };
        } else if (event.event === 'end') {
          yield { type: 'end', task: taskFromWire(data) };
          return;
        }
      }
      // The connection closed before the end: resume after the last event seen.
    }
  }

  /** `POST /v1/tasks`: queues a task and returns at once. */
  async submit(task: Task): Promise<SubmittedTask> {
    return camelKeys<SubmittedTask>(await this.#request('POST', '/v1/tasks', taskToWire(task)));
  }

  /** `GET /v1/tasks/:id`, optionally waiting up to `waitSeconds` (≤ 120) for it to finish. */
  async getTask(id: string, options: { waitSeconds?: number } = {}): Promise<TaskInfo> {
    const wait = options.waitSeconds ? `?wait=${Math.min(120, options.waitSeconds)}` : '';
    return taskFromWire(await this.#request('GET', `/v1/tasks/${encodeURIComponent(id)}${wait}`));
  }

  /** Waits (long-polling the API) until the task is succeeded, failed or cancelled, and returns it. */
  async waitForTask(id: string): Promise<TaskInfo> {
    for (;;) {
      const started = Date.now();
      const t = await this.getTask(id, { waitSeconds: this.waitSeconds });
      if (TERMINAL.has(t.status)) return t;
      // A server that answers early (a proxy's timeout) must not turn this into a busy loop.
      const elapsed = Date.now() - started;
      if (elapsed < this.pollIntervalMs) await sleep(this.pollIntervalMs - elapsed);
    }
  }

  /** `POST /v1/batches`: queues up to 10,000 tasks at once. */
  async submitBatch(
    tasks: Task[],
    options: { name?: string; idempotencyKey?: string } = {},
  ): Promise<{ id: string; size: number }> {
    return this.#request('POST', '/v1/batches', {
      tasks: tasks.map(taskToWire),
      ...(options.name !== undefined ? { name: options.name } : {}),
      ...(options.idempotencyKey !== undefined ? { idempotency_key: options.idempotencyKey } : {}),
    });
  }

  /**
   * `POST /v1/estimate`: the plan and the expected and worst-case cost of a task, or of a batch's tasks, and the budget
   * left today — planned exactly as a submit would, nothing run.
   */
  async estimate(task: Task | Task[]): Promise<Estimate> {
    const body = Array.isArray(task) ? { tasks: task.map(taskToWire) } : taskToWire(task);
    const json = await this.#request('POST', '/v1/estimate', body);
    const out = camelKeys<Estimate>(json);
    out.budget = camelKeys(json.budget as Record<string, unknown>);
    out.tasks = (json.tasks as Record<string, unknown>[]).map((t) => {
      const view = camelKeys<Estimate['tasks'][number]>(t);
      if (Array.isArray(t.per_model))
        view.perModel = (t.per_model as Record<string, unknown>[]).map((m) => camelKeys(m));
      return view;
    });
    return out;
  }

  /** `GET /v1/batches/:id`: counts per status, cost so far, times. */
  async getBatch(id: string): Promise<BatchInfo> {
    return camelKeys<BatchInfo>(await this.#request('GET', `/v1/batches/${encodeURIComponent(id)}`));
  }

  /** Polls the batch every `pollIntervalMs` until every task is terminal, calling `onProgress` after each poll. */
  async waitForBatch(id: string, onProgress?: (p: BatchProgress) => void): Promise<BatchInfo> {
    for (;;) {
      const b = await this.getBatch(id);
      const { succeeded, failed, cancelled, running } = b.counts;
      onProgress?.({
        batchId: id,
        total: b.size,
        done: succeeded + failed + cancelled,
        succeeded,
        failed: failed + cancelled,
        running,
        cost: b.cost,
      });
      if (b.finishedAt) return b;
      await sleep(this.pollIntervalMs);
    }
  }

  /** One page of a batch's results in submission order (`limit` default 100, max 1000). */
  async getBatchResults(id: string, options: { cursor?: string; limit?: number } = {}): Promise<BatchResultsPage> {
    const q = new URLSearchParams();
    if (options.cursor) q.set('cursor', options.cursor);
    if (options.limit) q.set('limit', String(options.limit));
    const json = await this.#request<{ results: Record<string, unknown>[]; next_cursor: string | null }>(
      'GET',
      `/v1/batches/${encodeURIComponent(id)}/results${q.size ? `?${q}` : ''}`,
    );
    return {
      results: json.results.map((r) => taskFromWire(r) as TaskInfo & { index: number }),
      nextCursor: json.next_cursor ?? null,
    };
  }

  /** Every result of a batch in submission order, fetched a page (default 1000) at a time. */
  async *batchResults(id: string, pageSize = 1000): AsyncGenerator<TaskInfo & { index: number }> {
    let cursor: string | undefined;
    do {
      const page = await this.getBatchResults(id, { cursor, limit: pageSize });
      yield* page.results;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  /** `POST /v1/batches/:id/cancel`: cancels the tasks not started yet; running ones finish. */
  async cancelBatch(id: string): Promise<{ cancelled: number }> {
    return this.#request('POST', `/v1/batches/${encodeURIComponent(id)}/cancel`);
  }

  /** `GET /v1/costs/report`: the seed's get_cost_report(), scoped to this API key (the admin key sees all). */
  async getCostReport(options: CostReportOptions = {}): Promise<CostReport> {
    const q = new URLSearchParams();
    if (options.from) q.set('from', options.from);
    if (options.to) q.set('to', options.to);
    if (options.groupBy) q.set('group_by', options.groupBy);
    const json = await this.#request('GET', `/v1/costs/report${q.size ? `?${q}` : ''}`);
    const report = camelKeys<CostReport>(json);
    if (Array.isArray(json.groups)) report.groups = (json.groups as Record<string, unknown>[]).map((g) => camelKeys(g));
    return report;
  }

  /**
   * `GET /v1/costs/report?group_by=variant`: the arms of A/B rules compared over the tasks submitted in the range —
   * tasks, failures, cost, calls, tokens, latency — per (task type, variant), with their totals.
   */
  async getVariantReport(options: { from?: string; to?: string } = {}): Promise<VariantReport> {
    const q = new URLSearchParams({ group_by: 'variant' });
    for (const [k, v] of Object.entries(options)) if (v) q.set(k, v);
    const json = await this.#request('GET', `/v1/costs/report?${q}`);
    const report = camelKeys<VariantReport>(json);
    report.groups = (json.groups as Record<string, unknown>[]).map((g) => camelKeys(g));
    return report;
  }

  /** `GET /v1/costs/analysis` (what CostAnalyzer.generateReport() returns). */
  async getCostAnalysis(options: { from?: string; to?: string; baseline?: string } = {}): Promise<CostAnalysis> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(options)) if (v) q.set(k, v);
    return camelKeys<CostAnalysis>(await this.#request('GET', `/v1/costs/analysis${q.size ? `?${q}` : ''}`));
  }

  /**
   * `PUT /v1/budget`: the daily limit in USD, null to remove it — with a client key, that key's own limit (up to
   * what the admin allows it); with the admin key, the global limit every worker applies at once.
   */
  async setBudget(budget: { maxDailyCost: number | null }): Promise<Budget> {
    return camelKeys<Budget>(await this.#request('PUT', '/v1/budget', { max_daily_cost: budget.maxDailyCost }));
  }

  /**
   * `GET /healthz` (no key needed): whether the API answers and how it sees Redis and Postgres. A 503 is returned as
   * `ok: false` with the reason, not thrown; an API that cannot be reached throws ConnectionError.
   */
  async health(): Promise<Health> {
    let res: Response;
    try {
      res = await this.#fetch(`${this.baseUrl}/healthz`, { headers: { accept: 'application/json' } });
    } catch (err) {
      throw new ConnectionError(this.baseUrl, err);
    }
    const text = await res.text();
    let body: { redis?: unknown; postgres?: unknown } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // Not the API's JSON (another server on that port, a proxy's page): reported below as not orchex.
    }
    if (typeof body.redis !== 'string' || typeof body.postgres !== 'string') {
      throw new ApiError(res.status, 'not_orchex', `${this.baseUrl}/healthz did not answer as orchex does`);
    }
    return { ok: res.status === 200, redis: body.redis, postgres: body.postgres };
  }

  /** `GET /v1/budget`: today's limit, spend, reservations and what remains (USD). */
  async getBudget(): Promise<Budget> {
    return camelKeys<Budget>(await this.#request('GET', '/v1/budget'));
  }

  async #request<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    const url = `${this.baseUrl}${path}`;
    for (let attempt = 0; ; attempt++) {
      const retry = method === 'GET' && attempt < GET_RETRIES;
      let res: Response;
      try {
        res = await this.#fetch(url, {
          method,
          headers: {
            authorization: `Bearer ${this.#apiKey}`,
            accept: 'application/json',
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        });
      } catch (err) {
        if (retry) {
          await sleep(250 * 2 ** attempt);
          continue;
        }
        throw new ConnectionError(this.baseUrl, err);
      }
      const text = await res.text();
      if (res.ok) return (text ? JSON.parse(text) : {}) as T;
      if (retry && [502, 503, 504].includes(res.status)) {
        await sleep(250 * 2 ** attempt);
        continue;
      }
      throw apiError(res.status, text);
    }
  }
}

/** The typed error for an API error response `{ error: { code, message, fields? } }`. */
function apiError(status: number, text: string): Error {
  let e: { code?: string; message?: string; fields?: FieldIssue[] } = {};
  try {
    e = (JSON.parse(text) as { error?: typeof e }).error ?? {};
  } catch {
    // Not our JSON (a proxy's HTML page): keep the status and a bit of the text.
  }
  const code = e.code ?? `http_${status}`;
  const message = e.message ?? (text.slice(0, 200) || `HTTP ${status}`);
  if (code === 'budget_exceeded') return new BudgetExceededError({ taskId: null, kind: code, message });
  if (status === 400 || status === 422) return new ValidationError(status, code, message, e.fields ?? []);
  return new ApiError(status, code, message);
}

/** The error of a task that ended without a result. */
function errorOf(t: TaskInfo): Error {
  return taskError(t.id, t.error ?? { kind: t.status, message: `task ended ${t.status}` }, t.attempts);
}

function resultOf(t: TaskInfo): TaskResult {
  return {
    id: t.id,
    content: t.content ?? '',
    model: t.model ?? '',
    cost: t.cost,
    usage: t.usage,
    finishReason: t.finishReason,
    attempts: t.attempts ?? [],
    metadata: t.metadata,
  };
}

function failedOutcome(error: Error, t?: TaskInfo): TaskOutcome {
  const attempts: Attempt[] = t?.attempts ?? (error as { attempts?: Attempt[] }).attempts ?? [];
  return {
    id: t?.id ?? (error as { taskId?: string | null }).taskId ?? null,
    content: null,
    model: t?.model ?? null,
    // Attempt costs are whole micro-dollars, so rounding to 6 decimals undoes float drift.
    cost: t?.cost ?? Math.round(attempts.reduce((sum, a) => sum + a.cost, 0) * 1e6) / 1e6,
    usage: t?.usage ?? null,
    finishReason: t?.finishReason ?? null,
    attempts,
    metadata: t?.metadata ?? null,
    error,
  };
}
