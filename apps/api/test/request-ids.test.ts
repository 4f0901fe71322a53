import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiProcess, spawnApi } from '../../../test/support/api-process.ts';
import { freePort } from '../../../test/support/free-port.ts';
import { startSystem, TEST_API_KEY, type TestSystem } from '../../../test/support/start-system.ts';
import { spawnWorker, type WorkerProcess } from '../../../test/support/worker-process.ts';

// Real API and worker processes, as `npm run start:api` and `start:worker` run them, logging JSON lines at info.
const PROMPT = 'a prompt that must never reach a log line';
let sys: TestSystem;
let api: ApiProcess;
let worker: WorkerProcess;

const lines = (out: string) =>
  out.split('\n').flatMap((l) => {
    try {
      return l.startsWith('{') ? [JSON.parse(l) as Record<string, unknown>] : [];
    } catch {
      return [];
    }
  });

async function submit(headers: Record<string, string> = {}) {
  const res = await fetch(`${api.url}/v1/tasks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ prompt: PROMPT, fallback_chain: ['gpt-test'], max_tokens: 50 }),
  });
  expect(res.status).toBe(202);
  const { id } = (await res.json()) as { id: string };
  return { id, requestId: res.headers.get('x-request-id') };
}

beforeAll(async () => {
  sys = await startSystem('request-ids', { workers: false });
  const env = { ...sys.env, ORCHEX_API_KEYS: TEST_API_KEY };
  api = spawnApi(env, await freePort());
  worker = spawnWorker(env);
  await Promise.all([api.ready, worker.ready]);
});

afterAll(async () => {
  api?.proc.kill('SIGTERM');
  worker?.proc.kill('SIGTERM');
  await Promise.all([api?.exited, worker?.exited]);
  await sys?.close();
});

describe('request ids and task ids on log lines', () => {
  it("keeps the caller's x-request-id, echoes it, and logs the request with it and the task id", async () => {
    const { id, requestId } = await submit({ 'x-request-id': 'req-from-proxy.42' });
    expect(requestId).toBe('req-from-proxy.42');
    const read = await fetch(`${api.url}/v1/tasks/${id}?wait=30`, {
      headers: { authorization: `Bearer ${TEST_API_KEY}`, 'x-request-id': 'req-read-1' },
    });
    expect(((await read.json()) as { status: string }).status).toBe('succeeded');

    await expect.poll(() => lines(api.output()).filter((l) => l.msg === 'request').length).toBeGreaterThanOrEqual(2);
    const requests = lines(api.output()).filter((l) => l.msg === 'request');
    expect(requests).toContainEqual(
      expect.objectContaining({
        requestId: 'req-from-proxy.42',
        taskId: id,
        method: 'POST',
        route: '/v1/tasks',
        status: 202,
      }),
    );
    expect(requests).toContainEqual(
      expect.objectContaining({ requestId: 'req-read-1', taskId: id, route: '/v1/tasks/:id', status: 200 }),
    );
  });

  it('makes an id when the caller sent none, or one that is not usable', async () => {
    const none = await submit();
    expect(none.requestId).toMatch(/^[0-9a-f-]{36}$/);
    const hostile = await submit({ 'x-request-id': `x","admin":true,"y":"${'a'.repeat(200)}` });
    expect(hostile.requestId).toMatch(/^[0-9a-f-]{36}$/);
    const health = await fetch(`${api.url}/healthz`);
    expect(health.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("every line a worker writes for a step carries the task's id, its job id and the submitting request's id", async () => {
    const { id } = await submit({ 'x-request-id': 'req-step' });
    await fetch(`${api.url}/v1/tasks/${id}?wait=30`, { headers: { authorization: `Bearer ${TEST_API_KEY}` } });
    await expect.poll(() => worker.logLines().filter((l) => l.taskId === id).length).toBeGreaterThan(0);
    const attempt = worker.logLines().find((l) => l.msg === 'attempt' && l.taskId === id);
    // …and the id of the request that submitted it.
    expect(attempt).toMatchObject({
      taskId: id,
      jobId: `${id}.s0`,
      requestId: 'req-step',
      outcome: 'succeeded',
      model: 'gpt-test',
    });
    // Nothing either process printed holds the prompt.
    expect(api.output()).not.toContain(PROMPT);
    expect(worker.output()).not.toContain(PROMPT);
  });
});
