import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/create-logger.ts';
import { withLogContext } from '../src/log-context.ts';

/** A logger whose lines are collected, parsed. */
function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  return { logger: createLogger('test', 'info', sink), lines };
}

describe('createLogger', () => {
  it('censors secret-named fields at the top level and one level down, and leaves the caller’s object alone', async () => {
    const { logger, lines } = capture();
    const headers = { authorization: 'Bearer sk-secret', accept: 'json' };
    const line = {
      taskId: 't1',
      prompt: 'my private question',
      headers,
      provider: { apiKey: 'sk-abc', api_key: 'sk-def', name: 'openai' },
      input: { context: 'a private document', prompt: 'p', maxTokens: 10 },
      list: ['prompt'],
    };
    logger.info(line, 'call');
    await new Promise((r) => setImmediate(r));
    expect(lines[0]).toMatchObject({
      msg: 'call',
      taskId: 't1',
      prompt: '[redacted]',
      headers: { authorization: '[redacted]', accept: 'json' },
      provider: { apiKey: '[redacted]', api_key: '[redacted]', name: 'openai' },
      input: { context: '[redacted]', prompt: '[redacted]', maxTokens: 10 },
      list: ['prompt'],
    });
    expect(JSON.stringify(lines[0])).not.toMatch(/sk-|private/);
    expect(headers.authorization).toBe('Bearer sk-secret');
  });

  it('a line without secrets is written as given, with the context ids of its task', async () => {
    const { logger, lines } = capture();
    withLogContext({ taskId: 't2', requestId: 'r2' }, () =>
      logger.info({ step: 0, model: 'gpt', err: 'timeout' }, 'attempt'),
    );
    await new Promise((r) => setImmediate(r));
    expect(lines[0]).toMatchObject({ taskId: 't2', requestId: 'r2', step: 0, model: 'gpt', err: 'timeout' });
  });
});
