import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { loadConfigFile } from '@orchex/core';
import { type FakeLlmServer, startFakeLlmServer } from '@orchex/providers/fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startSystem, type TestSystem } from '../../../test/support/start-system.ts';
import { submitAndWait } from '../../../test/support/task-client.ts';
import { testConfigSource } from '../../../test/support/test-config.ts';

const PLUGIN = new URL('../../../examples/plugins/echo-provider.mjs', import.meta.url).pathname;

describe("a model's own endpoint, account and provider plugin, from the config alone", () => {
  let a: FakeLlmServer;
  let b: FakeLlmServer;
  let sys: TestSystem;
  beforeAll(async () => {
    [a, b] = await Promise.all([startFakeLlmServer(), startFakeLlmServer()]);
    process.env.ACCOUNT_A_KEY = 'key-of-account-a-0001';
    process.env.ACCOUNT_B_KEY = 'key-of-account-b-0002';
    process.env.ECHO_KEY = 'key-of-the-echo-service';
    const prices = { input_cost_per_1k: 0.001, output_cost_per_1k: 0.002, max_tokens: 100_000 };
    const source = testConfigSource({
      models: {
        'claude-a': {
          provider: 'anthropic',
          model_id: 'claude-a',
          base_url: a.url,
          api_key_env: 'ACCOUNT_A_KEY',
          headers: { 'x-team': 'research', 'x-account': '${ACCOUNT_A_KEY}' },
          ...prices,
        },
        'claude-b': {
          provider: 'anthropic',
          model_id: 'claude-b',
          base_url: b.url,
          api_key_env: 'ACCOUNT_B_KEY',
          ...prices,
        },
        'echo-model': {
          provider: 'echo',
          model_id: 'echo-1',
          base_url: `${b.url}/v1`,
          api_key_env: 'ECHO_KEY',
          ...prices,
        },
      },
    });
    // Written as a file beside the plugin's relative path, as an operator would.
    const dir = mkdtempSync(join(tmpdir(), 'orchex-plugins-'));
    const module = relative(dir, PLUGIN); // a path relative to the config file, resolved against its folder
    writeFileSync(join(dir, 'orchex.yaml'), stringify({ ...source, plugins: [{ provider: 'echo', module }] }));
    sys = await startSystem('model_connections', { config: loadConfigFile(join(dir, 'orchex.yaml')) });
  });
  afterAll(async () => {
    await sys?.close();
    await Promise.all([a?.close(), b?.close()]);
    for (const k of ['ACCOUNT_A_KEY', 'ACCOUNT_B_KEY', 'ECHO_KEY']) delete process.env[k];
  });

  it('two models of one provider reach different servers, each with its own key (and headers)', async () => {
    const [ta, tb] = await Promise.all([
      submitAndWait(sys, { prompt: 'to account a', fallback_chain: ['claude-a'] }),
      submitAndWait(sys, { prompt: 'to account b', fallback_chain: ['claude-b'] }),
    ]);
    expect([ta.status, tb.status]).toEqual(['succeeded', 'succeeded']);
    const atA = a.log.filter((e) => e.model === 'claude-a');
    const atB = b.log.filter((e) => e.model === 'claude-b');
    expect(atA).toHaveLength(1);
    expect(atB).toHaveLength(1);
    expect(atA[0]).toMatchObject({
      apiKey: 'key-of-account-a-0001',
      headers: { 'x-team': 'research', 'x-account': 'key-of-account-a-0001' },
    });
    expect(atB[0]?.apiKey).toBe('key-of-account-b-0002');
    // Neither went to the provider's default server (the shared fake of the test system).
    expect(sys.fake.log.filter((e) => e.model === 'claude-a' || e.model === 'claude-b')).toHaveLength(0);
  });

  it('a provider plugin loaded from a local path serves a task end to end, with its own key', async () => {
    const t = await submitAndWait(sys, { prompt: 'through the plugin', fallback_chain: ['echo-model'] });
    expect(t.status).toBe('succeeded');
    expect(t.model).toBe('echo-model');
    expect(t.content).toMatch(/^fake answer from echo-1/);
    expect(t.cost).toBeGreaterThan(0);
    expect(b.log.filter((e) => e.model === 'echo-1')[0]?.apiKey).toBe('key-of-the-echo-service');
  });

  it('a plugin that does not declare its provider stops the config at start, naming the plugin', async () => {
    const { loadPlugins } = await import('@orchex/providers');
    await expect(loadPlugins([{ provider: 'other', module: PLUGIN }])).rejects.toThrow(
      /plugin "other" .* declares provider "echo", not "other"/,
    );
    await expect(loadPlugins([{ provider: 'x', module: '/nope/missing.mjs' }])).rejects.toThrow(
      /plugin "x" \(\/nope\/missing\.mjs\) could not be loaded/,
    );
  });
});
