import { faults } from '@orchex/providers/fake';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, TEST_API_KEY, type TestSystem } from '../../../test/support/start-system.ts';
import { waitFor } from '../../../test/support/task-client.ts';
import { testConfigSource } from '../../../test/support/test-config.ts';

const user = (content: string) => [{ role: 'user' as const, content }];

describe('streaming through orchex, driven by the official openai SDK', () => {
  let sys: TestSystem;
  let client: OpenAI;
  beforeAll(async () => {
    sys = await startSystem('openai_stream', { configSource: testConfigSource({ orchestrator: { max_retries: 0 } }) });
    client = new OpenAI({ baseURL: `${sys.url}/v1`, apiKey: TEST_API_KEY, maxRetries: 0 });
  });
  afterAll(async () => sys?.close());

  it('streams the answer in chunks, ends with usage when asked, and equals the stored result', async () => {
    sys.fake.script('claude-test', [{ type: 'ok', text: 'one two three four five six', chunkDelayMs: 20 }]);
    const { data: stream, response } = await client.chat.completions
      .create({
        model: 'claude-test',
        messages: user('count to six'),
        stream: true,
        stream_options: { include_usage: true },
      })
      .withResponse();
    const taskId = response.headers.get('x-orchex-task-id') as string;
    const texts: string[] = [];
    let usage: OpenAI.CompletionUsage | undefined;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      const text = chunk.choices[0]?.delta.content;
      if (text) texts.push(text);
      if (chunk.choices[0]?.finish_reason) finish = chunk.choices[0].finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(texts.length).toBeGreaterThanOrEqual(2);
    expect(finish).toBe('stop');
    expect(usage?.completion_tokens).toBeGreaterThan(0);
    const task = await waitFor(sys, taskId);
    expect(task.status).toBe('succeeded');
    expect(texts.join('')).toBe(task.content);
    expect(task.content).toBe('one two three four five six');
  });

  it('a model that fails before its first token: the same stream completes from the fallback model', async () => {
    sys.fake.script('claude-test', [faults.failBeforeFirstToken()]);
    sys.fake.script('gpt-test', [{ type: 'ok', text: 'the fallback answers', chunkDelayMs: 10 }]);
    const stream = await client.chat.completions.create({ model: 'claude-test', messages: user('x'), stream: true });
    let text = '';
    let model = '';
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      model = chunk.model || model;
    }
    expect(text).toBe('the fallback answers');
    expect(model).toBe('gpt-test');
  });

  it('a model that fails after some tokens: the SDK raises (no stream that looks complete), and the task still ends through its fallback', async () => {
    sys.fake.script('claude-test', [faults.cutAfter(2, { text: 'this answer will be cut short' })]);
    sys.fake.script('gpt-test', [{ type: 'ok', text: 'the whole fallback answer' }]);
    const { data: stream, response } = await client.chat.completions
      .create({ model: 'claude-test', messages: user('y'), stream: true })
      .withResponse();
    let text = '';
    const err = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(text).toBe('this answer ');
    const task = await waitFor(sys, response.headers.get('x-orchex-task-id') as string);
    expect(task.status).toBe('succeeded');
    expect(task.model).toBe('gpt-test');
    expect(task.content).toBe('the whole fallback answer');
    expect(task.attempts.map((a) => `${a.model}:${a.outcome}`)).toEqual(['claude-test:failed', 'gpt-test:succeeded']);
  });

  it("a multi-turn conversation reaches each provider in its own format (the fakes' logs)", async () => {
    const messages = [
      { role: 'system' as const, content: 'Be brief.' },
      { role: 'user' as const, content: 'Hello' },
      { role: 'assistant' as const, content: 'Hi there.' },
      { role: 'user' as const, content: 'First question.' },
      { role: 'user' as const, content: 'Second question.' },
    ];
    sys.fake.resetLog();
    for (const model of ['claude-test', 'gpt-test', 'gemini-test', 'llama-test']) {
      await client.chat.completions.create({ model, messages });
    }
    const sent = (m: string) => sys.fake.log.find((e) => e.model === m);
    const roles = (m: string) => ((sent(m)?.messages ?? []) as Array<{ role: string }>).map((x) => x.role);
    // Anthropic: the system text apart, consecutive user turns merged so roles alternate.
    expect(sent('claude-test')?.system).toBe('Be brief.');
    expect(roles('claude-test')).toEqual(['user', 'assistant', 'user']);
    // OpenAI and Ollama: the conversation as it is, system turn included.
    for (const m of ['gpt-test', 'llama-test']) {
      expect(roles(m)).toEqual(['system', 'user', 'assistant', 'user', 'user']);
    }
    // Gemini: user/model roles, the system text as systemInstruction, consecutive user turns merged.
    expect(roles('gemini-test')).toEqual(['user', 'model', 'user']);
    expect(JSON.stringify(sent('gemini-test')?.system)).toContain('Be brief.');
  });

  it('GET /v1/tasks/:id/events relays a streamed task as SSE (status, deltas, end) and resumes after Last-Event-ID', async () => {
    sys.fake.script('claude-test', [{ type: 'ok', text: 'alpha beta gamma delta', chunkDelayMs: 30 }]);
    const res = await sys.call('/v1/tasks', {
      method: 'POST',
      json: { prompt: 'stream me', fallback_chain: ['claude-test'], stream: true },
    });
    const { id } = (await res.json()) as { id: string };
    const read = async (headers: Record<string, string> = {}) => {
      const r = await sys.call(`/v1/tasks/${id}/events`, { headers });
      expect(r.headers.get('content-type')).toMatch(/text\/event-stream/);
      const events = (await r.text())
        .split('\n\n')
        .filter(Boolean)
        .map((block) =>
          Object.fromEntries(block.split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)])),
        );
      return events as Array<{ id?: string; event: string; data: string }>;
    };
    const all = await read();
    expect(all[0]?.event).toBe('status');
    expect(all.at(-1)?.event).toBe('end');
    const deltas = all.filter((e) => e.event === 'delta');
    expect(deltas.map((e) => (JSON.parse(e.data) as { text: string }).text).join('')).toBe('alpha beta gamma delta');
    expect(JSON.parse(all.at(-1)?.data ?? '{}')).toMatchObject({
      status: 'succeeded',
      content: 'alpha beta gamma delta',
    });
    // A reconnect with the id of the second delta gets what came after it, and the end.
    const resumed = await read({ 'last-event-id': deltas[1]?.id as string });
    const rest = resumed.filter((e) => e.event === 'delta').map((e) => (JSON.parse(e.data) as { text: string }).text);
    expect(rest.join('')).toBe(
      deltas
        .slice(2)
        .map((e) => (JSON.parse(e.data) as { text: string }).text)
        .join(''),
    );
    expect(resumed.at(-1)?.event).toBe('end');
  });
});
