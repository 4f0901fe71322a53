import { faults } from '@orchex/providers/fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../../apps/cli/src/cli-io.ts';
import { runCli } from '../../../apps/cli/src/run-cli.ts';
import { startSystem, TEST_API_KEY, type TestSystem } from '../../../test/support/start-system.ts';
import { testConfigSource } from '../../../test/support/test-config.ts';
import { Orchestrator, type StreamEvent } from '../src/index.ts';

describe('streaming from the client and the CLI', () => {
  let sys: TestSystem;
  let orchestrator: Orchestrator;
  beforeAll(async () => {
    sys = await startSystem('client_stream', { configSource: testConfigSource({ orchestrator: { max_retries: 0 } }) });
    orchestrator = new Orchestrator({ baseUrl: sys.url, apiKey: TEST_API_KEY });
  });
  afterAll(async () => sys?.close());

  it('orchestrator.stream yields the text as it is written, then the task; the text is its answer', async () => {
    sys.fake.script('claude-test', [{ type: 'ok', text: 'red orange yellow green', chunkDelayMs: 20 }]);
    const events: StreamEvent[] = [];
    for await (const e of orchestrator.stream({ prompt: 'colours', fallbackChain: ['claude-test'] })) events.push(e);
    const text = events.flatMap((e) => (e.type === 'delta' ? [e.text] : [])).join('');
    const end = events.at(-1);
    expect(events.filter((e) => e.type === 'delta').length).toBeGreaterThanOrEqual(2);
    expect(end?.type).toBe('end');
    expect(end?.type === 'end' && end.task.content).toBe(text);
  });

  it('a model failing mid-answer is an event, and the fallback answer follows; the task ends succeeded', async () => {
    sys.fake.script('claude-test', [faults.cutAfter(1, { text: 'half an answer' })]);
    sys.fake.script('gpt-test', [{ type: 'ok', text: 'a whole answer' }]);
    const events: StreamEvent[] = [];
    for await (const e of orchestrator.stream({ prompt: 'q', fallbackChain: ['claude-test', 'gpt-test'] }))
      events.push(e);
    expect(events.map((e) => e.type)).toContain('attempt-failed');
    const failed = events.find((e) => e.type === 'attempt-failed');
    expect(failed).toMatchObject({ model: 'claude-test', afterOutput: true });
    const end = events.at(-1);
    expect(end?.type === 'end' && end.task).toMatchObject({
      status: 'succeeded',
      model: 'gpt-test',
      content: 'a whole answer',
    });
  });

  it('orchex submit --stream prints the answer as it comes, the model and cost after', async () => {
    sys.fake.script('gemini-test', [{ type: 'ok', text: 'streamed to the terminal', chunkDelayMs: 10 }]);
    let stdout = '';
    let stderr = '';
    const io: CliIo = {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      env: { ORCHEX_URL: sys.url, ORCHEX_API_KEY: TEST_API_KEY },
    };
    const code = await runCli(['node', 'orchex', 'submit', '--stream', '--fallback', 'gemini-test', 'go'], io);
    expect(code).toBe(0);
    expect(stdout).toBe('streamed to the terminal\n');
    expect(stderr).toMatch(/^gemini-test · \$/);
  });
});
