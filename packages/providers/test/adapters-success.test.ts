import type { ProviderName } from '@orchex/core';
import { createLanguageModel } from '@orchex/providers';
import { type FakeLlmServer, fakeProviderEnv, startFakeLlmServer } from '@orchex/providers/fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelConfig, rejection, TEST_KEYS } from './helpers.ts';
import { PROVIDER_CASES as CASES } from './provider-cases.ts';

let fake: FakeLlmServer;
let env: Record<string, string>;

beforeAll(async () => {
  fake = await startFakeLlmServer();
  env = { ...fakeProviderEnv(fake.url), ...TEST_KEYS };
});
afterAll(() => fake.close());

const model = (provider: ProviderName, modelId: string, over: Record<string, string | undefined> = {}) =>
  createLanguageModel(`${provider}-model`, modelConfig(provider, modelId), { ...env, ...over });

describe.each(CASES)('$provider adapter', (c) => {
  it('maps text, finish reason, usage, id and headers of a normal call', async () => {
    fake.script(c.modelId, [{ type: 'ok', text: 'Paris.', usage: c.fakeUsage, latencyMs: 30 }]);
    const result = await model(c.provider, c.modelId).doGenerate({
      prompt: 'What is the capital of France?',
      system: 'Answer in one word.',
      maxOutputTokens: 100,
      temperature: 0,
    });
    expect(result.content).toBe('Paris.');
    expect(result.finishReason).toEqual({ unified: 'stop', raw: c.raw.stop });
    expect(result.usage).toEqual(c.expected);
    expect(result.response.id).toMatch(new RegExp(`^${c.idPrefix}`));
    expect(result.response.modelId).toBe(c.modelId);
    expect(result.response.headers[c.header]).toBeTruthy();
    expect(result.latencyMs).toBeGreaterThanOrEqual(25);
    expect(fake.log.at(-1)).toMatchObject({ provider: c.provider, model: c.modelId, outcome: 'ok', status: 200 });
  });

  it('answers deterministically by default, with usage estimated from the text (~4 chars per token)', async () => {
    const prompt = 'Summarise the plot of Hamlet in three sentences, please, for a school report.';
    const system = 'You are terse.';
    const m = model(c.provider, `${c.modelId}-default`);
    const first = await m.doGenerate({ prompt, system, maxOutputTokens: 100 });
    const second = await m.doGenerate({ prompt, system, maxOutputTokens: 100 });
    const text = `fake answer from ${c.modelId}-default: ${prompt.slice(0, 40)}`;
    expect(first.content).toBe(text);
    expect(second.content).toBe(text);
    expect(first.usage.inputTokens.total).toBe(Math.ceil((prompt.length + system.length) / 4));
    expect(first.usage.outputTokens.total).toBe(Math.ceil(text.length / 4));
  });

  it('maps a length stop', async () => {
    fake.script(c.modelId, [{ type: 'ok', finish: 'length' }]);
    const result = await model(c.provider, c.modelId).doGenerate({ prompt: 'Count to a million.', maxOutputTokens: 5 });
    expect(result.finishReason).toEqual({ unified: 'length', raw: c.raw.length });
  });

  it('turns a content-filtered answer into content_filter', async () => {
    fake.script(c.modelId, [{ type: 'ok', finish: 'content_filter' }]);
    const error = await rejection(model(c.provider, c.modelId).doGenerate({ prompt: 'bad', maxOutputTokens: 5 }));
    expect(error).toMatchObject({ kind: 'content_filter', provider: c.provider, isRetryable: false });
  });
});

describe.each([
  ['anthropic', 'ANTHROPIC_API_KEY'],
  ['openai', 'OPENAI_API_KEY'],
  ['google', 'GOOGLE_API_KEY'],
] as const)('%s without a key', (provider, variable) => {
  it(`fails the attempt with kind auth naming ${variable}, sending nothing`, async () => {
    const modelId = `${provider}-no-key`;
    const m = model(provider, modelId, { [variable]: undefined });
    const error = await rejection(m.doGenerate({ prompt: 'hi', maxOutputTokens: 5 }));
    expect(error).toMatchObject({ kind: 'auth', provider, model: `${provider}-model`, isRetryable: false });
    expect(error.message).toBe(`${variable} is not set`);
    // An empty value counts as unset.
    const empty = await rejection(
      model(provider, modelId, { [variable]: '' }).doGenerate({ prompt: 'hi', maxOutputTokens: 5 }),
    );
    expect(empty.message).toBe(`${variable} is not set`);
    expect(fake.log.filter((e) => e.model === modelId)).toHaveLength(0);
  });
});

it('ollama needs no key', async () => {
  const m = createLanguageModel('local', modelConfig('ollama', 'llama-nokey'), {
    OLLAMA_BASE_URL: `${fake.url}/ollama/v1`,
  });
  const result = await m.doGenerate({ prompt: 'hi', maxOutputTokens: 5 });
  expect(result.content).toBe('fake answer from llama-nokey: hi');
});

describe('gemini specifics', () => {
  it('a prompt blocked by promptFeedback is content_filter', async () => {
    fake.script('gemini-blocked', [
      {
        type: 'raw',
        body: { promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: 8, totalTokenCount: 8 } },
      },
    ]);
    const error = await rejection(model('google', 'gemini-blocked').doGenerate({ prompt: 'bad', maxOutputTokens: 5 }));
    expect(error.kind).toBe('content_filter');
    expect(error.message).toContain('SAFETY');
  });

  it('thought parts are not part of the answer', async () => {
    fake.script('gemini-thoughts', [
      {
        type: 'raw',
        body: {
          candidates: [
            {
              content: { role: 'model', parts: [{ text: 'let me think', thought: true }, { text: '42' }] },
              finishReason: 'STOP',
            },
          ],
          usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 1, thoughtsTokenCount: 3, totalTokenCount: 9 },
        },
      },
    ]);
    const result = await model('google', 'gemini-thoughts').doGenerate({ prompt: 'answer?', maxOutputTokens: 50 });
    expect(result.content).toBe('42');
    expect(result.usage.outputTokens).toEqual({ total: 4, reasoning: 3 });
  });
});
