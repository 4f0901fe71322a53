import type { Logger } from '@orchex/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, TEST_API_KEY, type TestSystem } from '../../../test/support/start-system.ts';
import { type RunningApi, startApi } from '../src/start-api.ts';

describe('ORCHESTRATOR_DEBUG_ROUTING', () => {
  let sys: TestSystem;
  let api: RunningApi;
  const lines: Array<{ obj: Record<string, unknown>; msg: string | undefined }> = [];
  const capture: Logger = {
    debug() {},
    info: (obj, msg) => lines.push({ obj: obj as Record<string, unknown>, msg }),
    warn() {},
    error() {},
  };
  beforeAll(async () => {
    sys = await startSystem('debug_routing', { workers: false });
    api = await startApi({
      config: sys.config,
      db: sys.database.db,
      redisUrl: sys.redisUrl,
      prefix: sys.prefix,
      logger: capture,
      apiKeys: [TEST_API_KEY],
      adminKey: undefined,
      port: 0,
      host: '127.0.0.1',
      debugRouting: true,
    });
  });
  afterAll(async () => {
    await api?.close();
    await sys?.close();
  });

  it('logs one line per task with the plan, the strategy and the reason — and never the prompt', async () => {
    const res = await fetch(`${api.url}/v1/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'Write a Python function to calculate fibonacci, secret-marker-123' }),
    });
    expect(res.status).toBe(202);
    const routing = lines.filter((l) => l.msg === 'routing');
    expect(routing).toHaveLength(1);
    expect(routing[0]!.obj).toMatchObject({
      plan: ['claude-test', 'gpt-test', 'gemini-test'],
      strategy: 'classified_rule',
    });
    expect(String(routing[0]!.obj.reason)).toMatch(/classified as code/);
    expect(JSON.stringify(lines)).not.toContain('secret-marker-123');
  });

  it('logs every task of a batch too, through the same planner', async () => {
    lines.length = 0;
    const res = await fetch(`${api.url}/v1/batches`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        tasks: [
          { prompt: 'batch-marker-456 summarise', task_type: 'research' },
          { prompt: 'hello', fallback_chain: ['gemini-test'] },
        ],
      }),
    });
    expect(res.status).toBe(202);
    const routing = lines.filter((l) => l.msg === 'routing').map((l) => l.obj);
    expect(routing).toHaveLength(2);
    expect(routing[0]).toMatchObject({ strategy: 'task_type_rule' });
    expect(routing[1]).toMatchObject({ plan: ['gemini-test'], strategy: 'explicit_chain' });
    expect(JSON.stringify(lines)).not.toContain('batch-marker-456');
  });
});
