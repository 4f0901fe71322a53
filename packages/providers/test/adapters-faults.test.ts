import { type ErrorKind, isRetryableKind, type ProviderName } from '@orchex/core';
import { createLanguageModel } from '@orchex/providers';
import { type FakeLlmServer, type FakeStep, fakeProviderEnv, faults, startFakeLlmServer } from '@orchex/providers/fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, modelConfig, rejection, TEST_KEYS } from './helpers.ts';

let fake: FakeLlmServer;
let env: Record<string, string>;

beforeAll(async () => {
  fake = await startFakeLlmServer();
  env = { ...fakeProviderEnv(fake.url), ...TEST_KEYS };
});
afterAll(() => fake.close());

const PROMPT = 'CONFIDENTIAL-PROMPT-TEXT tell me a story';
const PROVIDERS: ProviderName[] = ['anthropic', 'openai', 'google', 'ollama'];

interface Fault {
  name: string;
  step: FakeStep | ((provider: ProviderName) => FakeStep);
  kind: ErrorKind;
  statusCode?: number;
  /** Exact hint, or [min, max] for hints computed from a date. */
  retryAfterMs?: number | [number, number];
  /** The fake server's log outcome for the request. */
  outcome: string;
}

const inTenSeconds = () => new Date(Date.now() + 10_000).toUTCString();

// The same scripted fault must map to the same kind through every SDK; the bodies differ per provider.
const FAULTS: Fault[] = [
  {
    name: '429 with retry-after',
    step: faults.rateLimited({ retryAfterSeconds: 3 }),
    kind: 'rate_limited',
    statusCode: 429,
    retryAfterMs: 3000,
    outcome: 'error',
  },
  {
    name: '429: retry-after-ms wins over retry-after',
    step: faults.rateLimited({ retryAfterSeconds: 3, retryAfterMs: 1500 }),
    kind: 'rate_limited',
    statusCode: 429,
    retryAfterMs: 1500,
    outcome: 'error',
  },
  {
    name: '429 with an HTTP-date retry-after',
    step: () => ({ type: 'error', status: 429, headers: { 'retry-after': inTenSeconds() } }),
    kind: 'rate_limited',
    statusCode: 429,
    retryAfterMs: [7000, 10_000],
    outcome: 'error',
  },
  { name: '500', step: faults.serverError(), kind: 'server', statusCode: 500, outcome: 'error' },
  { name: '502', step: { type: 'error', status: 502 }, kind: 'server', statusCode: 502, outcome: 'error' },
  { name: '529 overloaded', step: faults.overloaded(), kind: 'overloaded', statusCode: 529, outcome: 'error' },
  { name: '503 overloaded', step: faults.overloaded(503), kind: 'overloaded', statusCode: 503, outcome: 'error' },
  {
    name: '400 context length',
    step: faults.contextLength(),
    kind: 'context_length',
    statusCode: 400,
    outcome: 'error',
  },
  {
    name: '400 content policy',
    step: faults.contentFilter(),
    kind: 'content_filter',
    statusCode: 400,
    outcome: 'error',
  },
  { name: '400 other', step: { type: 'error', status: 400 }, kind: 'bad_request', statusCode: 400, outcome: 'error' },
  {
    name: '404 unknown model',
    step: { type: 'error', status: 404, preset: 'bad_request' },
    kind: 'bad_request',
    statusCode: 404,
    outcome: 'error',
  },
  { name: '401', step: faults.unauthorized(), kind: 'auth', statusCode: 401, outcome: 'error' },
  { name: '403', step: { type: 'error', status: 403 }, kind: 'auth', statusCode: 403, outcome: 'error' },
  { name: 'hang until the deadline', step: faults.hang(), kind: 'timeout', outcome: 'hang' },
  {
    name: 'answer slower than the deadline',
    step: { type: 'ok', latencyMs: 5000 },
    kind: 'timeout',
    outcome: 'aborted',
  },
  { name: 'connection reset', step: faults.reset(), kind: 'connection', outcome: 'reset' },
  {
    name: '200 with a body that is not JSON',
    step: faults.malformed(),
    kind: 'malformed_response',
    outcome: 'malformed',
  },
  {
    name: '200 with JSON of the wrong shape',
    step: faults.malformed('wrong-shape'),
    kind: 'malformed_response',
    statusCode: 200,
    outcome: 'malformed',
  },
];

describe.each(PROVIDERS)('%s error classification', (provider) => {
  const modelId = `${provider}-faulty`;
  const m = () => createLanguageModel(`${provider}-model`, modelConfig(provider, modelId), env);

  it.each(FAULTS)('$name → $kind', async (fault) => {
    const step = typeof fault.step === 'function' ? fault.step(provider) : fault.step;
    fake.script(modelId, [step]);
    const error = await rejection(
      m().doGenerate({ prompt: PROMPT, maxOutputTokens: 50, abortSignal: AbortSignal.timeout(300) }),
    );
    expect(error).toMatchObject({
      provider,
      model: `${provider}-model`,
      kind: fault.kind,
      statusCode: fault.statusCode,
      isRetryable: isRetryableKind(fault.kind),
    });
    if (Array.isArray(fault.retryAfterMs)) {
      expect(error.retryAfterMs).toBeGreaterThanOrEqual(fault.retryAfterMs[0]);
      expect(error.retryAfterMs).toBeLessThanOrEqual(fault.retryAfterMs[1]);
    } else {
      expect(error.retryAfterMs).toBe(fault.retryAfterMs);
    }
    for (const secret of [...Object.values(TEST_KEYS), 'CONFIDENTIAL', 'sk-fake']) {
      expect(error.message).not.toContain(secret);
    }
    const entry = fake.log.at(-1);
    await eventually(() => entry?.finishedAt !== null);
    expect(entry).toMatchObject({ model: modelId, provider, outcome: fault.outcome });
  });

  it('refused connection → connection', async () => {
    const closed = await startFakeLlmServer();
    await closed.close();
    const error = await rejection(
      createLanguageModel(`${provider}-model`, modelConfig(provider, modelId), {
        ...env,
        ...fakeProviderEnv(closed.url),
      }).doGenerate({ prompt: PROMPT, maxOutputTokens: 5 }),
    );
    expect(error.kind).toBe('connection');
  });
});

describe('provider-specific bodies', () => {
  it('google: Gemini RetryInfo.retryDelay is the hint (no header needed)', async () => {
    fake.script('gemini-retry-info', [
      {
        type: 'error',
        status: 429,
        body: {
          error: {
            code: 429,
            message: 'Resource has been exhausted (e.g. check quota).',
            status: 'RESOURCE_EXHAUSTED',
            details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '7s' }],
          },
        },
      },
    ]);
    const m = createLanguageModel('g', modelConfig('google', 'gemini-retry-info'), env);
    const error = await rejection(m.doGenerate({ prompt: PROMPT, maxOutputTokens: 5 }));
    expect(error).toMatchObject({ kind: 'rate_limited', retryAfterMs: 7000 });
  });

  it('google: an invalid key arrives as 400 API_KEY_INVALID and is auth', async () => {
    fake.script('gemini-bad-key', [
      {
        type: 'error',
        status: 400,
        body: {
          error: {
            code: 400,
            message: 'API key not valid. Please pass a valid API key.',
            status: 'INVALID_ARGUMENT',
            details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' }],
          },
        },
      },
    ]);
    const m = createLanguageModel('g', modelConfig('google', 'gemini-bad-key'), env);
    expect((await rejection(m.doGenerate({ prompt: PROMPT, maxOutputTokens: 5 }))).kind).toBe('auth');
  });

  it('anthropic: overloaded_error is overloaded whatever the status', async () => {
    fake.script('claude-overloaded-500', [
      {
        type: 'error',
        status: 500,
        body: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
      },
    ]);
    const m = createLanguageModel('a', modelConfig('anthropic', 'claude-overloaded-500'), env);
    expect((await rejection(m.doGenerate({ prompt: PROMPT, maxOutputTokens: 5 }))).kind).toBe('overloaded');
  });

  it('openai: insufficient_quota is not worth waiting for (auth)', async () => {
    fake.script('gpt-no-quota', [
      {
        type: 'error',
        status: 429,
        body: {
          error: {
            message: 'You exceeded your current quota.',
            type: 'insufficient_quota',
            code: 'insufficient_quota',
            param: null,
          },
        },
      },
    ]);
    const m = createLanguageModel('o', modelConfig('openai', 'gpt-no-quota'), env);
    expect((await rejection(m.doGenerate({ prompt: PROMPT, maxOutputTokens: 5 }))).kind).toBe('auth');
  });

  it('an SDK is never left retrying: one request per failed call', async () => {
    for (const provider of PROVIDERS) {
      const modelId = `${provider}-once`;
      fake.script(modelId, [faults.serverError(), faults.serverError(), faults.serverError()]);
      const m = createLanguageModel('x', modelConfig(provider, modelId), env);
      await rejection(m.doGenerate({ prompt: PROMPT, maxOutputTokens: 5 }));
      expect(fake.log.filter((e) => e.model === modelId)).toHaveLength(1);
    }
  });
});
