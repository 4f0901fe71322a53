import { createLanguageModel } from '@orchex/providers';
import {
  createFakeLlmClient,
  type FakeLlmServer,
  fakeProviderEnv,
  faults,
  startFakeLlmServer,
} from '@orchex/providers/fake';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventually, modelConfig, rejection } from './helpers.ts';

let fake: FakeLlmServer;
let env: Record<string, string>;

beforeAll(async () => {
  fake = await startFakeLlmServer();
  env = fakeProviderEnv(fake.url);
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.clearScripts();
  fake.resetLog();
});

const openai = (modelId: string) => createLanguageModel('m', modelConfig('openai', modelId), env);
const call = (modelId: string, prompt = 'hello') => openai(modelId).doGenerate({ prompt, maxOutputTokens: 10 });

describe('fake LLM server', () => {
  it('consumes a model script in order, then falls back to the default answer', async () => {
    fake.script('gpt-fifo', [{ type: 'ok', text: 'one' }, faults.serverError()]);
    fake.script('gpt-fifo', [{ type: 'ok', text: 'three' }]);
    expect((await call('gpt-fifo')).content).toBe('one');
    expect((await rejection(call('gpt-fifo'))).kind).toBe('server');
    expect((await call('gpt-fifo')).content).toBe('three');
    expect((await call('gpt-fifo', 'and now?')).content).toBe('fake answer from gpt-fifo: and now?');
    // Scripts are per model id.
    expect((await call('gpt-other')).content).toBe('fake answer from gpt-other: hello');
  });

  it('uses setDefault per model, then "*", once the script is empty', async () => {
    fake.setDefault('*', { type: 'ok', text: 'everyone' });
    fake.setDefault('gpt-down', faults.overloaded(503));
    expect((await rejection(call('gpt-down'))).kind).toBe('overloaded');
    expect((await rejection(call('gpt-down'))).kind).toBe('overloaded');
    expect((await call('gpt-any')).content).toBe('everyone');
    fake.clearScripts();
    expect((await call('gpt-down')).content).toBe('fake answer from gpt-down: hello');
  });

  it('rejects an invalid step', () => {
    expect(() => fake.script('x', [{ type: 'error', status: 200 } as never])).toThrow();
  });

  it('logs each request with accurate start and finish times', async () => {
    fake.script('gpt-slow', [{ type: 'ok', latencyMs: 150 }]);
    const before = Date.now();
    await call('gpt-slow');
    const after = Date.now();
    expect(fake.log).toHaveLength(1);
    const [entry] = fake.log;
    expect(entry).toMatchObject({
      seq: expect.any(Number),
      provider: 'openai',
      model: 'gpt-slow',
      path: '/v1/chat/completions',
      status: 200,
      outcome: 'ok',
      inFlightAtStart: 1,
      inputTokens: expect.any(Number),
      outputTokens: expect.any(Number),
    });
    const startedAt = entry?.startedAt ?? 0;
    const finishedAt = entry?.finishedAt ?? 0;
    expect(startedAt).toBeGreaterThanOrEqual(before);
    expect(finishedAt - startedAt).toBeGreaterThanOrEqual(150);
    expect(finishedAt).toBeLessThanOrEqual(after);
  });

  it('counts concurrent requests per model and keeps the peak', async () => {
    fake.setDefault('gpt-busy', { type: 'ok', latencyMs: 200 });
    const calls = Array.from({ length: 5 }, () => call('gpt-busy'));
    await eventually(() => fake.inFlight('gpt-busy') === 5);
    await call('gpt-quiet');
    await Promise.all(calls);
    expect(fake.peakInFlight('gpt-busy')).toBe(5);
    expect(fake.inFlight('gpt-busy')).toBe(0);
    expect(fake.peakInFlight('gpt-quiet')).toBe(1);
    const starts = fake.log.filter((e) => e.model === 'gpt-busy').map((e) => e.inFlightAtStart);
    expect(starts.sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it('a request sent right after the previous answer never overlaps it', async () => {
    for (let i = 0; i < 20; i++) await call('gpt-sequential');
    expect(fake.log.map((e) => e.inFlightAtStart)).toEqual(Array(20).fill(1));
    expect(fake.peakInFlight('gpt-sequential')).toBe(1);
  });

  it('records a hung request as finished when the client gives up', async () => {
    fake.script('gpt-hang', [faults.hang()]);
    const error = await rejection(
      openai('gpt-hang').doGenerate({ prompt: 'x', maxOutputTokens: 5, abortSignal: AbortSignal.timeout(100) }),
    );
    expect(error.kind).toBe('timeout');
    await eventually(() => fake.inFlight('gpt-hang') === 0);
    expect(fake.log[0]).toMatchObject({ outcome: 'hang', status: null, finishedAt: expect.any(Number) });
  });

  it('serves all four protocols on the documented paths', async () => {
    for (const provider of ['anthropic', 'openai', 'google', 'ollama'] as const) {
      const m = createLanguageModel('m', modelConfig(provider, `${provider}-path`), env);
      await m.doGenerate({ prompt: 'hi', maxOutputTokens: 5 });
    }
    expect(fake.log.map((e) => [e.provider, e.path])).toEqual([
      ['anthropic', '/v1/messages'],
      ['openai', '/v1/chat/completions'],
      ['google', '/v1beta/models/google-path:generateContent'],
      ['ollama', '/ollama/v1/chat/completions'],
    ]);
  });

  it('answers 404 on unknown routes', async () => {
    const res = await fetch(`${fake.url}/v2/nothing`, { method: 'POST' });
    expect(res.status).toBe(404);
  });

  it('can be scripted and read over HTTP from another process', async () => {
    const client = createFakeLlmClient(fake.url);
    await client.script('gpt-remote', [faults.rateLimited({ retryAfterSeconds: 2 }), { type: 'ok', text: 'later' }]);
    expect((await rejection(call('gpt-remote'))).retryAfterMs).toBe(2000);
    expect((await call('gpt-remote')).content).toBe('later');
    await client.setDefault('gpt-remote', faults.serverError());
    expect((await rejection(call('gpt-remote'))).kind).toBe('server');
    const log = await client.log();
    expect(log.entries.map((e) => e.outcome)).toEqual(['error', 'ok', 'error']);
    expect(log.peak['gpt-remote']).toBe(1);
    expect(log.inFlight['gpt-remote']).toBe(0);
    await expect(client.script('gpt-remote', [{ type: 'nope' } as never])).rejects.toThrow(/400/);
    await client.reset();
    expect((await client.log()).entries).toEqual([]);
    expect((await call('gpt-remote')).content).toBe('fake answer from gpt-remote: hello');
  });

  it('close() ends hung connections instead of waiting for them', async () => {
    const other = await startFakeLlmServer();
    other.setDefault('*', faults.hang());
    const pending = createLanguageModel('m', modelConfig('openai', 'gpt-stuck'), fakeProviderEnv(other.url))
      .doGenerate({ prompt: 'x', maxOutputTokens: 5 })
      .catch((error: unknown) => error);
    await eventually(() => other.inFlight('gpt-stuck') === 1);
    await other.close();
    expect(await pending).toMatchObject({ kind: 'connection' });
  });
});
