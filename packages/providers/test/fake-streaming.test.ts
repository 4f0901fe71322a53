import { createFakeLlmClient, type FakeLlmServer, startFakeLlmServer } from '@orchex/providers/fake';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { splitDeltas } from '../src/fake/split-deltas.ts';
import { eventually } from './helpers.ts';

// The fake's streaming wire formats read with plain fetch, so a mistake in them cannot hide behind an SDK's leniency.

let fake: FakeLlmServer;
beforeAll(async () => {
  fake = await startFakeLlmServer();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.clearScripts();
  fake.resetLog();
});

const TEXT = 'one two three';

async function post(path: string, body: unknown): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(`${fake.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

/** Server-sent events as [event name or null, parsed data or the raw string]. */
function events(text: string): [string | null, unknown][] {
  return text
    .split(/\r?\n\r?\n/)
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const name = /^event: (.*)$/m.exec(block)?.[1] ?? null;
      const data = /^data: (.*)$/m.exec(block)?.[1] ?? '';
      return [name, data.startsWith('{') ? JSON.parse(data) : data];
    });
}

describe('fake server streams', () => {
  it('anthropic: message_start … one content_block_delta per word … message_delta, message_stop', async () => {
    fake.script('claude-wire', [{ type: 'ok', text: TEXT, usage: { input: 10, output: 3 } }]);
    const res = await post('/v1/messages', {
      model: 'claude-wire',
      max_tokens: 10,
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(res).toMatchObject({ status: 200, type: 'text/event-stream' });
    const list = events(res.text);
    expect(list.map(([name]) => name)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    const texts = list.flatMap(([name, d]) =>
      name === 'content_block_delta' ? [(d as { delta: { text: string } }).delta.text] : [],
    );
    expect(texts.join('')).toBe(TEXT);
    expect(list[7]?.[1]).toMatchObject({ delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 3 } });
  });

  it('openai: chunks, a finish chunk, the usage chunk only when include_usage, then [DONE]', async () => {
    const request = (include: boolean) =>
      post('/v1/chat/completions', {
        model: 'gpt-wire',
        stream: true,
        ...(include ? { stream_options: { include_usage: true } } : {}),
        messages: [{ role: 'user', content: 'hi' }],
      });
    fake.setDefault('gpt-wire', { type: 'ok', text: TEXT, usage: { input: 10, output: 3 } });
    for (const include of [true, false]) {
      const list = events((await request(include)).text);
      expect(list.at(-1)).toEqual([null, '[DONE]']);
      const chunks = list
        .slice(0, -1)
        .map(
          ([, d]) => d as { choices: { delta: { content?: string }; finish_reason: string | null }[]; usage?: unknown },
        );
      const content = chunks.flatMap((c) => c.choices.map((ch) => ch.delta.content ?? '')).join('');
      expect(content).toBe(TEXT);
      expect(chunks.filter((c) => c.choices[0]?.finish_reason === 'stop')).toHaveLength(1);
      const usage = chunks.filter((c) => c.usage);
      expect(usage).toEqual(
        include
          ? [
              expect.objectContaining({
                choices: [],
                usage: expect.objectContaining({ prompt_tokens: 10, completion_tokens: 3 }),
              }),
            ]
          : [],
      );
    }
  });

  it('google: :streamGenerateContent answers SSE chunks, finishReason and full usage on the last', async () => {
    fake.script('gemini-wire', [{ type: 'ok', text: TEXT, usage: { input: 10, output: 3 } }]);
    const res = await post('/v1beta/models/gemini-wire:streamGenerateContent?alt=sse', {
      contents: [{ role: 'user', parts: [{ text: 'hi' }] }],
    });
    expect(res).toMatchObject({ status: 200, type: 'text/event-stream' });
    const chunks = events(res.text).map(
      ([, d]) => d as { candidates: { finishReason?: string }[]; usageMetadata: unknown },
    );
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    expect(chunks.at(-1)).toMatchObject({
      candidates: [{ finishReason: 'STOP' }],
      usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 3, totalTokenCount: 13 },
    });
    expect(chunks.slice(0, -1).every((c) => c.candidates[0]?.finishReason === undefined)).toBe(true);
    expect(fake.log[0]).toMatchObject({ stream: true, path: '/v1beta/models/gemini-wire:streamGenerateContent' });
  });

  it('spaces deltas by chunkDelayMs and logs what was sent', async () => {
    fake.script('gpt-paced', [{ type: 'ok', text: 'a b c d e', chunkDelayMs: 40 }]);
    await post('/v1/chat/completions', {
      model: 'gpt-paced',
      stream: true,
      messages: [{ role: 'user', content: 'x' }],
    });
    const [entry] = fake.log;
    expect(entry).toMatchObject({ stream: true, outcome: 'ok', status: 200, deltas: ['a ', 'b ', 'c ', 'd ', 'e'] });
    expect((entry?.finishedAt ?? 0) - (entry?.startedAt ?? 0)).toBeGreaterThanOrEqual(4 * 40 - 5);
  });

  it('cut steps arrive over HTTP too; an impossible one is refused', async () => {
    const client = createFakeLlmClient(fake.url);
    await client.script('gpt-remote-cut', [{ type: 'cut', afterDeltas: 1, variant: 'error-event', text: TEXT }]);
    const res = await post('/v1/chat/completions', {
      model: 'gpt-remote-cut',
      stream: true,
      messages: [{ role: 'user', content: 'x' }],
    });
    const list = events(res.text);
    expect(list).toHaveLength(3); // role chunk, one delta, the error
    expect(list.at(-1)?.[1]).toMatchObject({ error: { type: 'server_error' } });
    await eventually(() => fake.log[0]?.finishedAt != null);
    expect(fake.log[0]).toMatchObject({ outcome: 'cut', deltas: ['one '] });
    await expect(client.script('x', [{ type: 'cut', afterDeltas: -1 } as never])).rejects.toThrow(/400/);
  });

  it('a cut step on a request that did not ask for a stream closes the connection', async () => {
    fake.script('gpt-cut-whole', [{ type: 'cut', afterDeltas: 2 }]);
    await expect(
      post('/v1/chat/completions', { model: 'gpt-cut-whole', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toThrow();
    expect(fake.log[0]).toMatchObject({ outcome: 'cut', stream: false, status: null });
  });
});

describe('splitDeltas', () => {
  it.each([
    ['Paris is the capital.', ['Paris ', 'is ', 'the ', 'capital.']],
    ['  two\n\nlines ', ['  ', 'two\n\n', 'lines ']],
    ['word', ['word']],
    ['', []],
  ])('%j → %j', (text, deltas) => {
    expect(splitDeltas(text)).toEqual(deltas);
    expect(splitDeltas(text).join('')).toBe(text);
  });
});
