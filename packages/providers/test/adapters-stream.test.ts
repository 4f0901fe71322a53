import { estimateInputTokens, isRetryableKind, type ProviderName } from '@orchex/core';
import { createLanguageModel, type GenerateOptions } from '@orchex/providers';
import { type FakeLlmServer, fakeProviderEnv, faults, startFakeLlmServer } from '@orchex/providers/fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drain, eventually, finishOf, modelConfig, rejection, TEST_KEYS } from './helpers.ts';
import { PROVIDER_CASES } from './provider-cases.ts';

let fake: FakeLlmServer;
let env: Record<string, string>;

beforeAll(async () => {
  fake = await startFakeLlmServer();
  env = { ...fakeProviderEnv(fake.url), ...TEST_KEYS };
});
afterAll(() => fake.close());

const PROMPT = 'CONFIDENTIAL-PROMPT-TEXT tell me about Paris';
const ANSWER = 'SECRET-ANSWER-TEXT Paris is the capital of France.';

const model = (provider: ProviderName, modelId: string) =>
  createLanguageModel(`${provider}-model`, modelConfig(provider, modelId), env);
const options = (over: Partial<GenerateOptions> = {}): GenerateOptions => ({
  prompt: PROMPT,
  maxOutputTokens: 100,
  ...over,
});
/** The fake's log entry of the last request for `modelId`, once the server has finished with it. */
const lastEntry = async (modelId: string) => {
  await eventually(() => fake.log.filter((e) => e.model === modelId).at(-1)?.finishedAt != null);
  const entry = fake.log.filter((e) => e.model === modelId).at(-1);
  if (!entry) throw new Error(`no request for ${modelId}`);
  return entry;
};
/** Nothing a caller stores may carry the prompt, the answer or a key. */
const expectSafe = (message: string) => {
  for (const secret of [...Object.values(TEST_KEYS), 'CONFIDENTIAL', 'SECRET-ANSWER']) {
    expect(message).not.toContain(secret);
  }
};

describe.each(PROVIDER_CASES)('$provider doStream', (c) => {
  it('streams the answer in several deltas through the SDK, then one finish with usage and finish reason', async () => {
    const modelId = `${c.modelId}-stream`;
    fake.script(modelId, [{ type: 'ok', text: ANSWER, usage: c.fakeUsage, chunkDelayMs: 5 }]);
    const { parts, deltas, error } = await drain(await model(c.provider, modelId).doStream(options()));
    expect(error).toBeUndefined();
    expect(deltas.length).toBeGreaterThanOrEqual(2);
    const finish = finishOf(parts);
    expect(deltas.join('')).toBe(ANSWER);
    expect(finish.content).toBe(ANSWER);
    expect(finish.finishReason).toEqual({ unified: 'stop', raw: c.raw.stop });
    expect(finish.usage).toEqual(c.expected);
    expect(finish.response.id).toMatch(new RegExp(`^${c.idPrefix}`));
    expect(finish.response.modelId).toBe(modelId);
    expect(finish.response.headers[c.header]).toBeTruthy();
    // Seven words 5 ms apart: the stream took at least the six pauses.
    expect(finish.latencyMs).toBeGreaterThanOrEqual(25);
    const entry = await lastEntry(modelId);
    expect(entry).toMatchObject({
      provider: c.provider,
      stream: true,
      outcome: 'ok',
      status: 200,
      outputTokens: c.fakeUsage.output,
    });
    // What the client received is exactly what the server sent, delta by delta.
    expect(entry.deltas).toEqual(deltas);
  });

  it('streams the same answer, usage and finish reason as doGenerate', async () => {
    const modelId = `${c.modelId}-same`;
    const step = { type: 'ok', text: ANSWER, usage: c.fakeUsage, finish: 'length' } as const;
    fake.script(modelId, [step, step]);
    const m = model(c.provider, modelId);
    const whole = await m.doGenerate(options());
    const finish = finishOf((await drain(await m.doStream(options()))).parts);
    expect({ content: finish.content, usage: finish.usage, finishReason: finish.finishReason }).toEqual({
      content: whole.content,
      usage: whole.usage,
      finishReason: whole.finishReason,
    });
    expect(finish.finishReason).toEqual({ unified: 'length', raw: c.raw.length });
  });

  it('a failure before the stream opens rejects doStream(), classified as doGenerate would be', async () => {
    const modelId = `${c.modelId}-429`;
    fake.script(modelId, [faults.rateLimited({ retryAfterSeconds: 2 })]);
    const error = await rejection(model(c.provider, modelId).doStream(options()));
    expect(error).toMatchObject({
      provider: c.provider,
      kind: 'rate_limited',
      statusCode: 429,
      retryAfterMs: 2000,
      afterOutput: false,
      outcomeUnknown: false,
      isRetryable: true,
    });
    expectSafe(error.message);
  });

  it.each([
    ['reset', 'connection'],
    ['error-event', 'overloaded'],
  ] as const)(
    'a stream that opens and breaks (%s) before its first token rejects doStream() → %s',
    async (variant, kind) => {
      const modelId = `${c.modelId}-before-${variant}`;
      fake.script(modelId, [faults.cutAfter(0, { variant, text: ANSWER })]);
      const error = await rejection(model(c.provider, modelId).doStream(options()));
      expect(error).toMatchObject({
        provider: c.provider,
        kind,
        afterOutput: false,
        isRetryable: isRetryableKind(kind),
      });
      expectSafe(error.message);
      expect((await lastEntry(modelId)).deltas).toEqual([]);
    },
  );

  it.each([
    ['reset', 'connection'],
    ['error-event', 'overloaded'],
  ] as const)('a stream cut (%s) after 3 deltas throws from the iterator → %s, afterOutput', async (variant, kind) => {
    const modelId = `${c.modelId}-cut-${variant}`;
    fake.script(modelId, [faults.cutAfter(3, { variant, text: ANSWER })]);
    const { parts, deltas, error } = await drain(await model(c.provider, modelId).doStream(options()));
    expect(error).toMatchObject({ provider: c.provider, kind, afterOutput: true, outcomeUnknown: true });
    expectSafe(error?.message ?? '');
    expect(parts.some((p) => p.type === 'finish')).toBe(false);
    expect(deltas).toEqual(['SECRET-ANSWER-TEXT ', 'Paris ', 'is ']);
    const entry = await lastEntry(modelId);
    expect(entry).toMatchObject({ outcome: 'cut', deltas });
  });

  it.each([
    ['rate_limited', 'rate_limited'],
    ['server', 'server'],
    ['context_length', 'context_length'],
  ] as const)('an in-stream %s error event is classified by its type → %s', async (preset, kind) => {
    const modelId = `${c.modelId}-event-${preset}`;
    fake.script(modelId, [faults.cutAfter(1, { variant: 'error-event', preset, text: ANSWER })]);
    const { deltas, error } = await drain(await model(c.provider, modelId).doStream(options()));
    expect(deltas).toHaveLength(1);
    expect(error).toMatchObject({ kind, afterOutput: true, isRetryable: isRetryableKind(kind) });
  });

  it('an abort mid-stream is a timeout after output; the server sees the client leave', async () => {
    const modelId = `${c.modelId}-abort`;
    fake.script(modelId, [{ type: 'ok', text: ANSWER, chunkDelayMs: 1000 }]);
    const controller = new AbortController();
    const stream = await model(c.provider, modelId).doStream(options({ abortSignal: controller.signal }));
    const received: string[] = [];
    let error: unknown;
    try {
      for await (const part of stream) {
        if (part.type === 'text-delta') received.push(part.text);
        controller.abort();
      }
    } catch (e) {
      error = e;
    }
    expect(received).toEqual(['SECRET-ANSWER-TEXT ']);
    expect(error).toMatchObject({ provider: c.provider, kind: 'timeout', afterOutput: true, outcomeUnknown: true });
    // An abandoned stream reports no usage: nothing was billed as a complete answer.
    expect(await lastEntry(modelId)).toMatchObject({
      outcome: 'aborted',
      deltas: ['SECRET-ANSWER-TEXT '],
      outputTokens: null,
    });
  });

  it('a deadline before the first token rejects doStream() with timeout, afterOutput false', async () => {
    const modelId = `${c.modelId}-slow`;
    fake.script(modelId, [{ type: 'ok', text: ANSWER, latencyMs: 5000 }]);
    const error = await rejection(
      model(c.provider, modelId).doStream(options({ abortSignal: AbortSignal.timeout(150) })),
    );
    expect(error).toMatchObject({ kind: 'timeout', afterOutput: false, outcomeUnknown: true });
  });

  it('leaving the loop early closes the connection', async () => {
    const modelId = `${c.modelId}-break`;
    fake.script(modelId, [{ type: 'ok', text: ANSWER, chunkDelayMs: 1000 }]);
    for await (const part of await model(c.provider, modelId).doStream(options())) {
      expect(part).toEqual({ type: 'text-delta', text: 'SECRET-ANSWER-TEXT ' });
      break;
    }
    expect(await lastEntry(modelId)).toMatchObject({ outcome: 'aborted' });
    expect(fake.inFlight(modelId)).toBe(0);
  });

  it('a content-filtered answer rejects doStream() with content_filter', async () => {
    const modelId = `${c.modelId}-filtered`;
    fake.script(modelId, [{ type: 'ok', finish: 'content_filter' }]);
    const error = await rejection(model(c.provider, modelId).doStream(options()));
    expect(error).toMatchObject({ kind: 'content_filter', afterOutput: false, isRetryable: false });
  });

  it.each(['not-json', 'wrong-shape'] as const)(
    'unusable stream events (%s) are malformed_response',
    async (variant) => {
      const modelId = `${c.modelId}-malformed-${variant}`;
      fake.script(modelId, [faults.malformed(variant)]);
      const error = await rejection(model(c.provider, modelId).doStream(options()));
      expect(error).toMatchObject({ kind: 'malformed_response', afterOutput: false, outcomeUnknown: true });
      expectSafe(error.message);
    },
  );

  it('sends one request: the SDK never retries a stream', async () => {
    const modelId = `${c.modelId}-once`;
    fake.script(modelId, [faults.serverError(), faults.serverError(), faults.serverError()]);
    expect((await rejection(model(c.provider, modelId).doStream(options()))).kind).toBe('server');
    expect(fake.log.filter((e) => e.model === modelId)).toHaveLength(1);
  });
});

describe.each(['anthropic', 'openai', 'google'] as const)('%s doStream without a key', (provider) => {
  it('rejects doStream() with kind auth and sends nothing', async () => {
    const modelId = `${provider}-stream-no-key`;
    const variable = `${provider === 'google' ? 'GOOGLE' : provider.toUpperCase()}_API_KEY`;
    const m = createLanguageModel('m', modelConfig(provider, modelId), { ...env, [variable]: undefined });
    const error = await rejection(m.doStream(options()));
    expect(error).toMatchObject({ kind: 'auth', message: `${variable} is not set`, afterOutput: false });
    expect(fake.log.filter((e) => e.model === modelId)).toHaveLength(0);
  });
});

describe('streams without the final event or usage', () => {
  const sse = (lines: unknown[], done = '') => lines.map((l) => `data: ${JSON.stringify(l)}\n\n`).join('') + done;
  const DONE = 'data: [DONE]\n\n';
  const chunk = (delta: object, finish: string | null = null) => ({
    id: 'chatcmpl-old',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'llama-old',
    choices: [{ index: 0, delta, finish_reason: finish }],
  });

  it('ollama before 0.5.2 ignores include_usage: usage is estimated like a budget hold, never zero', async () => {
    fake.script('llama-old', [
      {
        type: 'raw',
        headers: { 'content-type': 'text/event-stream' },
        body: sse(
          [chunk({ role: 'assistant', content: 'Bonjour ' }), chunk({ content: 'Paris.' }), chunk({}, 'stop')],
          DONE,
        ),
      },
    ]);
    const m = createLanguageModel('local', modelConfig('ollama', 'llama-old'), env);
    const { parts, deltas } = await drain(await m.doStream(options({ system: 'Be brief.' })));
    const finish = finishOf(parts);
    expect(deltas).toEqual(['Bonjour ', 'Paris.']);
    const model = { provider: 'ollama', model_id: 'llama-old' };
    expect(finish.usage.inputTokens.total).toBe(estimateInputTokens({ prompt: PROMPT, system: 'Be brief.' }, model));
    expect(finish.usage.outputTokens.total).toBe(estimateInputTokens({ prompt: 'Bonjour Paris.' }, model));
    expect(finish.usage.outputTokens.total).toBeGreaterThan(0);
  });

  it('a stream that ends cleanly without its finish is malformed_response after output, not a short answer', async () => {
    fake.script('gpt-truncated', [
      {
        type: 'raw',
        headers: { 'content-type': 'text/event-stream' },
        body: sse([chunk({ role: 'assistant', content: 'Half ' }), chunk({ content: 'an answer' })]),
      },
    ]);
    const { deltas, error } = await drain(await model('openai', 'gpt-truncated').doStream(options()));
    expect(deltas).toEqual(['Half ', 'an answer']);
    expect(error).toMatchObject({ kind: 'malformed_response', afterOutput: true, outcomeUnknown: true });
  });

  it('google: thought parts are not streamed as answer text', async () => {
    const gemini = (parts: object[], finishReason?: string) => ({
      candidates: [{ content: { role: 'model', parts }, ...(finishReason ? { finishReason } : {}) }],
      usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 2, thoughtsTokenCount: 3, totalTokenCount: 10 },
    });
    fake.script('gemini-thinking', [
      {
        type: 'raw',
        headers: { 'content-type': 'text/event-stream' },
        body: sse([
          gemini([{ text: 'hmm', thought: true }]),
          gemini([{ text: '4' }, { text: '2' }]),
          gemini([], 'STOP'),
        ]),
      },
    ]);
    const { parts, deltas } = await drain(await model('google', 'gemini-thinking').doStream(options()));
    expect(deltas).toEqual(['42']);
    expect(finishOf(parts)).toMatchObject({ content: '42', usage: { outputTokens: { total: 5, reasoning: 3 } } });
  });
});
