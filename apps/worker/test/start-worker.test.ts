import { describe, expect, inject, it } from 'vitest';
import { spawnWorker } from '../../../test/support/worker-process.ts';

describe('worker start', () => {
  it('a malformed provider base URL stops the worker at start, exit code 1, naming the variable', async () => {
    const w = spawnWorker({
      REDIS_URL: inject('redisUrl'),
      DATABASE_URL: inject('databaseUrl'),
      ORCHEX_PREFIX: 't-bad-base-url',
      ANTHROPIC_BASE_URL: 'localhost:4010/v1', // no scheme: not an http(s) URL
    });
    const code = await w.exited;
    expect(code).toBe(1);
    expect(w.output()).toContain('worker failed to start');
    expect(w.output()).toMatch(/ANTHROPIC_BASE_URL: must be an http\(s\) URL/);
    expect(w.output()).not.toContain('"worker started"');
  });

  it('an invalid orchex variable stops it too, naming the variable', async () => {
    const w = spawnWorker({ REDIS_URL: inject('redisUrl'), ORCHEX_LOCK_MS: '10' });
    expect(await w.exited).toBe(1);
    expect(w.output()).toMatch(/ORCHEX_LOCK_MS: at least 1000/);
  });
});
