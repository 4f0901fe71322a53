import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiProcess, spawnApi } from '../../../test/support/api-process.ts';
import { freePort } from '../../../test/support/free-port.ts';
import { startSystem, TEST_API_KEY, type TestSystem } from '../../../test/support/start-system.ts';
import { spawnWorker, type WorkerProcess } from '../../../test/support/worker-process.ts';

// An in-process OTLP/HTTP receiver, and real API and worker processes exporting to it: one task that re-routes must
// be one trace across both processes — submit span → two step spans → one model-call span each.

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
  arrayValue?: { values: OtlpValue[] };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Array<{ key: string; value: OtlpValue }>;
  status?: { code?: number };
  service: string;
}

const PROMPT = 'a prompt that must never reach a span';
let sys: TestSystem;
let receiver: Server;
let endpoint: string;
let api: ApiProcess;
let worker: WorkerProcess;
const spans: OtlpSpan[] = [];
const bodies: string[] = [];

const value = (v: OtlpValue): unknown =>
  v.stringValue ??
  (v.intValue !== undefined ? Number(v.intValue) : undefined) ??
  v.boolValue ??
  v.doubleValue ??
  v.arrayValue?.values.map(value);
const attrs = (s: OtlpSpan) => Object.fromEntries(s.attributes.map((a) => [a.key, value(a.value)]));

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      bodies.push(body);
      const data = JSON.parse(body) as {
        resourceSpans: Array<{
          resource: { attributes: Array<{ key: string; value: OtlpValue }> };
          scopeSpans: Array<{ spans: Array<Omit<OtlpSpan, 'service'>> }>;
        }>;
      };
      for (const rs of data.resourceSpans) {
        const service = String(value(rs.resource.attributes.find((a) => a.key === 'service.name')?.value ?? {}));
        for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ ...s, service });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

  sys = await startSystem('traces', { workers: false });
  const env = {
    ...sys.env,
    ORCHEX_API_KEYS: TEST_API_KEY,
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    // Export within 100 ms instead of the SDK's 5 s, so the test need not wait.
    OTEL_BSP_SCHEDULE_DELAY: '100',
  };
  api = spawnApi(env, await freePort());
  worker = spawnWorker(env);
  await Promise.all([api.ready, worker.ready]);
});

afterAll(async () => {
  api?.proc.kill('SIGTERM');
  worker?.proc.kill('SIGTERM');
  await Promise.all([api?.exited, worker?.exited]);
  await sys?.close();
  receiver?.close();
});

describe('traces', () => {
  it('one re-routed task is one trace: the API span, two attempt spans and their model-call spans', async () => {
    sys.fake.script('llama-test', [{ type: 'error', status: 400 }]);
    const headers = { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' };
    const res = await fetch(`${api.url}/v1/tasks`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ prompt: PROMPT, fallback_chain: ['llama-test', 'gpt-test'], max_tokens: 64 }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const task = (await (await fetch(`${api.url}/v1/tasks/${id}?wait=30`, { headers })).json()) as {
      status: string;
      trace_id: string | null;
      model: string;
    };
    expect(task).toMatchObject({ status: 'succeeded', model: 'gpt-test' });
    expect(task.trace_id).toMatch(/^[0-9a-f]{32}$/);

    const ofTask = () => spans.filter((s) => s.traceId === task.trace_id);
    await expect.poll(() => ofTask().length, { timeout: 15_000 }).toBeGreaterThanOrEqual(5);
    const trace = ofTask();

    const submit = trace.filter((s) => s.name === 'orchex submit');
    expect(submit).toHaveLength(1);
    expect(submit[0]?.service).toBe('orchex-api');
    expect(submit[0]?.parentSpanId || undefined).toBeUndefined();
    expect(attrs(submit[0] as OtlpSpan)['orchex.task_id']).toBe(id);

    const steps = trace.filter((s) => s.name.startsWith('orchex step '));
    expect(steps.map((s) => s.name).sort()).toEqual(['orchex step gpt-test', 'orchex step llama-test']);
    for (const s of steps) {
      expect(s.service).toBe('orchex-worker');
      expect(s.parentSpanId).toBe(submit[0]?.spanId);
    }
    const [llama, gpt] = ['llama-test', 'gpt-test'].map((m) => steps.find((s) => s.name.endsWith(m)) as OtlpSpan);
    expect(attrs(llama as OtlpSpan)).toMatchObject({ 'orchex.step': 0, 'orchex.outcome': 'rerouted' });
    expect(attrs(gpt as OtlpSpan)).toMatchObject({ 'orchex.step': 1, 'orchex.outcome': 'succeeded' });
    // A re-route is the ladder working, not an error of the step; the failed call is.
    expect(llama?.status?.code ?? 0).not.toBe(2);

    const calls = trace.filter((s) => s.name.startsWith('chat '));
    expect(calls).toHaveLength(2);
    const callOf = (step: OtlpSpan) => calls.find((c) => c.parentSpanId === step.spanId) as OtlpSpan;
    expect(attrs(callOf(llama as OtlpSpan))).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.system': 'ollama',
      'gen_ai.request.model': 'llama-test',
      'gen_ai.request.max_tokens': 64,
      'error.type': 'bad_request',
    });
    expect(callOf(llama as OtlpSpan).status?.code).toBe(2); // ERROR
    const ok = attrs(callOf(gpt as OtlpSpan));
    expect(ok).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.system': 'openai',
      'gen_ai.request.model': 'gpt-test',
      'gen_ai.response.finish_reasons': ['stop'],
    });
    expect(ok['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
    expect(ok['gen_ai.usage.output_tokens']).toBeGreaterThan(0);

    // The trace id is on the log lines of the task, in both processes; no span holds the prompt.
    expect(worker.logLines().filter((l) => l.taskId === id && l.msg === 'attempt')).not.toHaveLength(0);
    for (const l of worker.logLines().filter((x) => x.taskId === id && x.msg === 'attempt'))
      expect(l.traceId).toBe(task.trace_id);
    const apiLines = api
      .output()
      .split('\n')
      .filter((l) => l.includes(id) && l.includes('"request"'));
    expect(apiLines.some((l) => l.includes(`"traceId":"${task.trace_id}"`))).toBe(true);
    expect(bodies.join('')).not.toContain(PROMPT);
  });
});
