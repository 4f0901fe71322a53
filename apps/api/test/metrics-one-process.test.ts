import { type RunningApi, startApi } from '@orchex/api/start';
import { silentLogger } from '@orchex/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetrics, sampleValue } from '../../../test/support/prometheus-text.ts';
import { startSystem, TEST_ADMIN_KEY, TEST_API_KEY, type TestSystem } from '../../../test/support/start-system.ts';

// `npm start` runs the API and a worker pool in one process: the API's /metrics must serve the pool's metrics too.
let sys: TestSystem;
let api: RunningApi;

beforeAll(async () => {
  sys = await startSystem('metrics-one-process');
  api = await startApi({
    config: sys.config,
    db: sys.database.db,
    redisUrl: sys.redisUrl,
    prefix: sys.prefix,
    logger: silentLogger,
    apiKeys: [TEST_API_KEY],
    adminKey: TEST_ADMIN_KEY,
    port: 0,
    host: '127.0.0.1',
    metricsRegistry: sys.pool?.registry,
  });
});
afterAll(async () => {
  await api?.close();
  await sys?.close();
});

describe('one process, one /metrics', () => {
  it("serves the in-process workers' step metrics beside the API's own", async () => {
    const headers = { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' };
    const res = await fetch(`${api.url}/v1/tasks`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ prompt: 'hi', fallback_chain: ['claude-test'] }),
    });
    const { id } = (await res.json()) as { id: string };
    await fetch(`${api.url}/v1/tasks/${id}?wait=30`, { headers });
    const text = await (
      await fetch(`${api.url}/metrics`, { headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } })
    ).text();
    const m = parseMetrics(text);
    expect(sampleValue(m, 'orchex_model_requests_total', { model: 'claude-test', outcome: 'succeeded' })).toBe(1);
    expect(sampleValue(m, 'orchex_http_requests_total', { route: '/v1/tasks', status: '202' })).toBe(1);
    expect(sampleValue(m, 'orchex_queue_jobs', { model: 'claude-test', state: 'completed' })).toBe(1);
    // Node's process metrics once, not twice.
    expect(text.match(/^# TYPE process_cpu_seconds_total /gm)).toHaveLength(1);
  });
});
