import type { ProviderName } from '@orchex/core';
import {
  type ChatMessage,
  createLanguageModel,
  type GenerateOptions,
  LEADING_USER_PLACEHOLDER,
} from '@orchex/providers';
import { type FakeLlmServer, fakeProviderEnv, startFakeLlmServer } from '@orchex/providers/fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drain, eventually, finishOf, modelConfig, TEST_KEYS } from './helpers.ts';

let fake: FakeLlmServer;
let env: Record<string, string>;

beforeAll(async () => {
  fake = await startFakeLlmServer();
  env = { ...fakeProviderEnv(fake.url), ...TEST_KEYS };
});
afterAll(() => fake.close());

// A system message, a turn of each role, a system message in the middle, and two user turns in a row (a question,
// then the document it is about).
const CONVERSATION: ChatMessage[] = [
  { role: 'system', content: 'You are a geography tutor.' },
  { role: 'user', content: 'What is the capital of France?' },
  { role: 'assistant', content: 'Paris.' },
  { role: 'system', content: 'Answer in one word.' },
  { role: 'user', content: 'And of Italy?' },
  { role: 'user', content: 'Here is a map: Rome, Milan, Naples.' },
];
const CALL: GenerateOptions = {
  prompt: 'IGNORED-PROMPT',
  messages: CONVERSATION,
  system: 'Be kind.',
  maxOutputTokens: 64,
  temperature: 0.2,
  topP: 0.9,
  stop: ['END', '###'],
};

const SYSTEM_JOINED = 'Be kind.\n\nYou are a geography tutor.\n\nAnswer in one word.';
const LAST_USER_MERGED = 'And of Italy?\n\nHere is a map: Rome, Milan, Naples.';
const CHAT_COMPLETIONS_MESSAGES = [
  { role: 'system', content: 'Be kind.' },
  ...CONVERSATION.map((m) => ({ role: m.role, content: m.content })),
];

// What each provider must receive, in its own wire shape, as the fake parsed it from the body.
const WIRE: {
  provider: ProviderName;
  modelId: string;
  messages: unknown;
  system: unknown;
  params: Record<string, unknown>;
  streamParams: Record<string, unknown>;
  /** The last user turn as the provider received it. */
  lastUser: string;
}[] = [
  {
    provider: 'anthropic',
    modelId: 'claude-chat',
    // System text joined into `system`; the two user turns merged so that the roles alternate.
    messages: [
      { role: 'user', content: 'What is the capital of France?' },
      { role: 'assistant', content: 'Paris.' },
      { role: 'user', content: LAST_USER_MERGED },
    ],
    system: SYSTEM_JOINED,
    params: { max_tokens: 64, temperature: 0.2, top_p: 0.9, stop_sequences: ['END', '###'] },
    streamParams: { stream: true },
    lastUser: LAST_USER_MERGED,
  },
  {
    provider: 'openai',
    modelId: 'gpt-chat',
    // As given, system turns in place, `system` first; consecutive user turns are fine for Chat Completions.
    messages: CHAT_COMPLETIONS_MESSAGES,
    system: null,
    params: { max_completion_tokens: 64, temperature: 0.2, top_p: 0.9, stop: ['END', '###'] },
    streamParams: { stream: true, stream_options: { include_usage: true } },
    lastUser: 'Here is a map: Rome, Milan, Naples.',
  },
  {
    provider: 'ollama',
    modelId: 'llama-chat',
    messages: CHAT_COMPLETIONS_MESSAGES,
    system: null,
    params: { max_tokens: 64, temperature: 0.2, top_p: 0.9, stop: ['END', '###'] },
    streamParams: { stream: true, stream_options: { include_usage: true } },
    lastUser: 'Here is a map: Rome, Milan, Naples.',
  },
  {
    provider: 'google',
    modelId: 'gemini-chat',
    // Roles user/model, system text in systemInstruction, the two user turns merged into one content.
    messages: [
      { role: 'user', parts: [{ text: 'What is the capital of France?' }] },
      { role: 'model', parts: [{ text: 'Paris.' }] },
      { role: 'user', parts: [{ text: LAST_USER_MERGED }] },
    ],
    system: { parts: [{ text: SYSTEM_JOINED }] },
    params: {
      generationConfig: { maxOutputTokens: 64, temperature: 0.2, topP: 0.9, stopSequences: ['END', '###'] },
    },
    streamParams: {},
    lastUser: LAST_USER_MERGED,
  },
];

const lastEntry = async (modelId: string) => {
  await eventually(() => fake.log.filter((e) => e.model === modelId).at(-1)?.finishedAt != null);
  const entry = fake.log.filter((e) => e.model === modelId).at(-1);
  if (!entry) throw new Error(`no request for ${modelId}`);
  return entry;
};

describe.each(WIRE)('$provider receives a conversation in its own format', (w) => {
  const m = () => createLanguageModel(`${w.provider}-model`, modelConfig(w.provider, w.modelId), env);

  it('doGenerate', async () => {
    const result = await m().doGenerate(CALL);
    const entry = await lastEntry(w.modelId);
    expect(entry.messages).toEqual(w.messages);
    if (typeof w.system === 'object' && w.system !== null) expect(entry.system).toMatchObject(w.system);
    else expect(entry.system).toBe(w.system);
    expect(entry.params).toMatchObject(w.params);
    expect(entry.stream).toBe(false);
    expect(JSON.stringify(entry.messages)).not.toContain('IGNORED-PROMPT');
    // The fake's default answer quotes the start of the last user turn it received.
    expect(result.content).toBe(`fake answer from ${w.modelId}: ${w.lastUser.slice(0, 40)}`);
  });

  it('doStream sends the same conversation, asking for a stream', async () => {
    const { parts } = await drain(await m().doStream(CALL));
    expect(finishOf(parts).content).toMatch(/^fake answer from /);
    const entry = await lastEntry(w.modelId);
    expect(entry.messages).toEqual(w.messages);
    expect(entry.params).toMatchObject({ ...w.params, ...w.streamParams });
    expect(entry.stream).toBe(true);
  });
});

describe('anthropic turn rules', () => {
  const m = () => createLanguageModel('claude', modelConfig('anthropic', 'claude-turns'), env);

  it('puts a placeholder user turn before a conversation that starts with the assistant, and only then', async () => {
    await m().doGenerate({
      prompt: '',
      messages: [
        { role: 'system', content: 'S' },
        { role: 'assistant', content: 'How can I help?' },
        { role: 'assistant', content: 'Ask me anything.' },
        { role: 'user', content: 'Hi' },
      ],
      maxOutputTokens: 5,
    });
    expect((await lastEntry('claude-turns')).messages).toEqual([
      { role: 'user', content: LEADING_USER_PLACEHOLDER },
      { role: 'assistant', content: 'How can I help?\n\nAsk me anything.' },
      { role: 'user', content: 'Hi' },
    ]);
    await m().doGenerate({ prompt: '', messages: [{ role: 'user', content: 'Hi' }], maxOutputTokens: 5 });
    const entry = await lastEntry('claude-turns');
    expect(entry.messages).toEqual([{ role: 'user', content: 'Hi' }]);
    expect(entry.system).toBeNull();
  });

  it('a prompt without messages is sent as before: one user turn, system as given, no sampling fields', async () => {
    await m().doGenerate({ prompt: 'Hello', system: 'Be brief.', maxOutputTokens: 5 });
    const entry = await lastEntry('claude-turns');
    expect(entry.messages).toEqual([{ role: 'user', content: 'Hello' }]);
    expect(entry.system).toBe('Be brief.');
    expect(entry.params).toEqual({ model: 'claude-turns', max_tokens: 5 });
  });
});
